"""The package's one URL-credential helper, added after a ``fix`` run.

The NSA302/NSA502 fixes of a module inside a package import
``mask_url_credentials`` from the package's helper home
(:func:`nova_secaudit.analysis.masking.url_helper_home`); the worker that
fixed the module only records that home. Once every file is done, this
module adds the helper to each home once -- whichever files, paths and
jobs asked for it, and also when the home lies outside the paths given to
``fix`` -- or, for ``--diff``, produces its diff (from ``/dev/null``
for a module it creates).
"""

from __future__ import annotations

import codecs
import os
from typing import Iterator

from nova_secaudit.fixing import FileFix, FixOptions, _encoding, \
    describe_exception, unified_diff, write_atomically
from nova_secaudit.source import SourceError, decode_source, read_bytes


def add_shared_helpers(results: list[FileFix],
                       options: FixOptions) -> Iterator[FileFix]:
    """Add the URL-credential helper to each package's home module that
    a fix of this run imports it from (once, whichever files and jobs
    asked); the home may lie outside the paths given to ``fix``."""
    from nova_secaudit.analysis import module_location
    from nova_secaudit.codemods.secrets import shared_helper_text

    homes = sorted({r.helper_home for r in results
                    if r.helper_home and r.changed})
    fixed = {os.path.abspath(r.path): r.new_text for r in results
             if r.new_text is not None}
    for home in homes:
        result = FileFix(home)
        exists = os.path.exists(home)
        try:
            data = read_bytes(home) if exists else b""
            text = fixed.get(os.path.abspath(home)) or \
                (decode_source(data) if exists else None)
            project = module_location(home)[1].split(".", 1)[0]
            new_text = shared_helper_text(text, project or "nova")
        except (SourceError, OSError) as exc:
            result.error = f"cannot add the URL helper: {exc}"
            yield result
            continue
        except Exception as exc:  # libcst cannot parse it
            result.error = ("cannot add the URL helper: "
                            f"{describe_exception(exc)}")
            yield result
            continue
        if new_text is None:
            continue
        result.changed = True
        if options.diff:
            original = decode_source(data) if exists else None
            result.diff = unified_diff(original, new_text, home)
        if options.write:
            try:
                if exists:
                    encoding, bom = _encoding(data)
                    write_atomically(home, (codecs.BOM_UTF8 if bom else b"")
                                     + new_text.encode(encoding),
                                     expected=data)
                else:
                    with open(home, "x", encoding="utf-8") as stream:
                        stream.write(new_text)
            except (OSError, UnicodeEncodeError) as exc:
                result.error = "cannot write the URL helper: " + \
                    str(getattr(exc, "strerror", None) or exc)
                result.changed = False
        yield result
