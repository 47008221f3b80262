"""nova_secaudit: security lint rules and codemods for OpenStack Nova."""

__version__ = "0.1.0"
