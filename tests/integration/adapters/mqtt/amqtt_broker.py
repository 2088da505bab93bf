"""Fallback broker for machines without the mosquitto binary: ``python amqtt_broker.py PORT`` (plain TCP only)."""

from __future__ import annotations

import asyncio
import sys

from amqtt.broker import Broker  # type: ignore[import-not-found]


async def main(port: int) -> None:
    broker = Broker(
        {
            "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
            "sys_interval": 0,
            "auth": {"allow-anonymous": True},
        }
    )
    await broker.start()
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
