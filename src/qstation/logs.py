"""One log format for every line a qstation process writes: its own and uvicorn's.

``text`` is for a terminal; ``json`` (one object per line) is for a log shipper: each line
carries its time, level, logger and message, and the ``job``, ``worker``, ``organisation`` and
``status`` of the line where it has them (passed as ``extra=``). Uvicorn is started without a
logging configuration of its own (``log_config=None``), so its lines propagate to the same
handler.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Literal

LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")
FIELDS = ("job", "worker", "organisation", "status")
"""Record attributes a JSON line carries when the code logging it gave them."""
_TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                line[field] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(level: str, log_format: LogFormat) -> None:
    """Send every logger's lines, uvicorn's included, to standard error in ``log_format``."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(_TEXT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
