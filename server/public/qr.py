"""QR codes of short URLs, as SVG or PNG (segno's own PNG writer, no Pillow), kept in memory."""

from __future__ import annotations

import io
import threading
from collections import OrderedDict

KINDS = {"qr.svg": ("svg", b"image/svg+xml"), "qr.png": ("png", b"image/png")}
CACHE_CONTROL = b"public, max-age=86400"


def render(url: str, kind: str) -> bytes:
    """The QR code of ``url``; ``kind`` is ``"svg"`` or ``"png"``."""
    import segno  # only the workers that serve QR codes pay for the import

    code = segno.make(url, error="m", micro=False)
    out = io.BytesIO()
    if kind == "svg":
        code.save(out, kind="svg", scale=8, border=4, xmldecl=False, title=url)
    else:
        code.save(out, kind="png", scale=8, border=4)
    return out.getvalue()


class QrCache:
    """The last ``size`` QR codes made (a short URL's QR never changes)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._lock = threading.Lock()  # filled from the thread pool

    def peek(self, url: str, kind: str) -> bytes | None:
        """The QR code of ``url`` if it was made already (no work)."""
        with self._lock:
            return self._items.get((url, kind))

    def get(self, url: str, kind: str) -> bytes:
        """The QR code of ``url``, made once."""
        key = (url, kind)
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
        made = render(url, kind)
        with self._lock:
            self._items[key] = made
            if len(self._items) > self._size:
                self._items.popitem(last=False)
        return made
