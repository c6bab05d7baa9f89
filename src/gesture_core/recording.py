"""MCAP recordings of ROS 2 topics, without ROS: rosbag2-compatible files Foxglove and ``ros2 bag`` open.

Messages are written as the CDR bytes that went over DDS (no re-serialisation), each topic with its
``ros2msg`` schema: the message definition text with every nested type appended, in the layout
rosbag2 uses. Definitions are read from the ``share/<pkg>/msg/<Type>.msg`` files that every ROS 2
install (including the pip wheels) ships.

Reading back (:func:`read_messages`) decodes with ``mcap_ros2``, again without ROS.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from mcap.well_known import MessageEncoding, SchemaEncoding
from mcap.writer import CompressionType, Writer

from .errors import GestureError

_PRIMITIVES = {
    "bool", "byte", "char", "float32", "float64", "int8", "uint8", "int16", "uint16",
    "int32", "uint32", "int64", "uint64", "string", "wstring",
}  # fmt: skip
_SEPARATOR = "=" * 80


def _field_type(line: str) -> str | None:
    """The base type of a field line of a .msg file (None for comments, blanks and constants)."""
    line = line.split("#", 1)[0].strip()
    if not line:
        return None
    parts = line.split()
    if len(parts) < 2 or "=" in parts[1] or (len(parts) > 2 and parts[2].startswith("=")):
        return None  # constant
    base = re.sub(r"\[.*\]$", "", parts[0])
    base = re.sub(r"<=\d+$", "", base)
    return None if base in _PRIMITIVES else base


class MessageDefinitions:
    """Finds ``.msg`` definitions under share directories and builds rosbag2-style schema texts."""

    def __init__(self, share_dirs: list[Path]):
        self.share_dirs = [Path(d) for d in share_dirs]

    def _text(self, pkg: str, name: str) -> str:
        for share in self.share_dirs:
            path = share / pkg / "msg" / f"{name}.msg"
            if path.is_file():
                return path.read_text()
        raise GestureError(f"no definition of {pkg}/msg/{name} under {', '.join(map(str, self.share_dirs))}")

    def schema(self, msg_type: str) -> str:
        """The full ``ros2msg`` schema text of ``pkg/msg/Name`` (or ``pkg/Name``)."""
        pkg, name = msg_type.split("/")[0], msg_type.split("/")[-1]
        main = self._text(pkg, name)
        parts, seen, todo = [main], {f"{pkg}/{name}"}, [(pkg, main)]
        while todo:
            owner, text = todo.pop(0)
            for line in text.splitlines():
                dep = _field_type(line)
                if dep is None:
                    continue
                dep_pkg, dep_name = (dep.split("/")[0], dep.split("/")[-1]) if "/" in dep else (owner, dep)
                if dep == "Header" and "/" not in dep:
                    dep_pkg = "std_msgs"
                key = f"{dep_pkg}/{dep_name}"
                if key in seen:
                    continue
                seen.add(key)
                dep_text = self._text(dep_pkg, dep_name)
                parts.append(f"{_SEPARATOR}\nMSG: {key}\n{dep_text}")
                todo.append((dep_pkg, dep_text))
        return "\n".join(parts)


class McapRecorder:
    """Writes serialized (CDR) ROS 2 messages to an MCAP file.

    Use as a context manager or call :meth:`close`; a file whose writer was killed before closing
    still holds every finished chunk (MCAP readers recover them), so a recording interrupted by
    Ctrl-C stays readable.
    """

    def __init__(self, path: Path, definitions: MessageDefinitions, chunk_size: int = 1 << 20):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: BinaryIO = open(self.path, "wb")
        self._writer = Writer(self._file, chunk_size=chunk_size, compression=CompressionType.ZSTD)
        self._writer.start(profile="ros2", library="gesture_core")
        self._definitions = definitions
        self._channels: dict[str, int] = {}
        self._sequence = 0
        self.counts: dict[str, int] = {}

    def add_topic(self, topic: str, msg_type: str) -> None:
        """Register ``topic`` of type ``pkg/msg/Name`` (once; later calls are ignored)."""
        if topic in self._channels:
            return
        schema_id = self._writer.register_schema(
            name=msg_type, encoding=SchemaEncoding.ROS2, data=self._definitions.schema(msg_type).encode()
        )
        self._channels[topic] = self._writer.register_channel(
            topic=topic, message_encoding=MessageEncoding.CDR, schema_id=schema_id
        )
        self.counts[topic] = 0

    def write(self, topic: str, data: bytes, log_time_ns: int | None = None) -> None:
        """Append one serialized message of a registered topic, received at ``log_time_ns``."""
        t = time.time_ns() if log_time_ns is None else log_time_ns
        self._writer.add_message(
            channel_id=self._channels[topic], log_time=t, publish_time=t, data=data, sequence=self._sequence
        )
        self._sequence += 1
        self.counts[topic] += 1

    def close(self) -> None:
        if not self._file.closed:
            self._writer.finish()
            self._file.close()

    def __enter__(self) -> "McapRecorder":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def read_messages(path: Path, topics: list[str] | None = None) -> Iterator[tuple[str, int, Any]]:
    """Yield ``(topic, log_time_ns, decoded message)`` from an MCAP file written by :class:`McapRecorder`."""
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory

    with open(path, "rb") as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()])
        for _schema, channel, message, decoded in reader.iter_decoded_messages(topics=topics, log_time_order=True):
            yield channel.topic, message.log_time, decoded
