"""The WooCommerce stand-in for the benchmark, with permalinks on a public-looking host.

``tests/standins/woocommerce_standin.py`` run as a script makes permalinks on its own loopback
address, which the real Kliqs server refuses as a destination next to itself; this serves the
same stand-in with ``https://toko-contoh.example`` permalinks.

    python bench/pipeline/shop_standin.py --port 8089
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.standins.woocommerce_standin import WooStandin  # noqa: E402


def main() -> None:
    """Serve until killed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--shop-url", default="https://toko-contoh.example")
    args = parser.parse_args()
    shop = WooStandin("127.0.0.1", args.port, shop_url=args.shop_url)
    print(f"WooCommerce stand-in at {shop.url}", flush=True)
    try:
        shop._server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
