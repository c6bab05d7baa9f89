"""MCAP recordings of ROS 2 topics, without ROS: rosbag2-compatible files Foxglove and ``ros2 bag`` open.

Messages are written as the CDR bytes that went over DDS (no re-serialisation), each topic with its
``ros2msg`` schema: the message definition text with every nested type appended, in the layout
rosbag2 uses. Definitions are read from the ``share/<pkg>/msg/<Type>.msg`` files that every ROS 2
install (including the pip wheels) ships.

Reading back (:func:`read_messages`) decodes with ``mcap_ros2``, again without ROS. A recording
whose writer was killed (no summary, no footer) is read as a stream up to its last complete chunk:
:func:`read_messages` is also the recovery call; the recorder node closes a chunk every second
(:meth:`McapRecorder.flush`), so such a file holds everything up to the last second.
"""

from __future__ import annotations

import logging
import re
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from mcap.well_known import MessageEncoding, SchemaEncoding
from mcap.writer import CompressionType, Writer

from .errors import GestureError

log = logging.getLogger(__name__)

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
    still holds every finished chunk (:func:`read_messages` recovers them), so call :meth:`flush`
    periodically to bound what a kill loses.
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

    def flush(self) -> None:
        """Close the chunk in progress and write it to the file (a killed writer loses only what
        came after the last flush)."""
        if not self._file.closed:
            self._writer.flush()

    def close(self) -> None:
        if not self._file.closed:
            self._writer.finish()
            self._file.close()

    def __enter__(self) -> "McapRecorder":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def read_messages(path: Path, topics: list[str] | None = None) -> Iterator[tuple[str, int, Any]]:
    """Yield ``(topic, log_time_ns, decoded message)`` from an MCAP file written by :class:`McapRecorder`.

    A complete file is read through its index, in log-time order. A file without its summary (the
    writer was killed) is read as a stream, in write order, up to its last complete chunk (logged).
    """
    from mcap.exceptions import McapError
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory

    with open(path, "rb") as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()])
        try:
            messages = reader.iter_decoded_messages(topics=topics, log_time_order=True)
            first = next(messages, None)
        except (McapError, EOFError, ValueError, struct.error) as exc:
            log.warning("%s has no complete summary (%s: was its recorder killed?): reading it as a stream", path, exc)
            f.seek(0)
            yield from _stream_messages(f, topics)
            return
        if first is not None:
            yield first[1].topic, first[2].log_time, first[3]
        for _schema, channel, message, decoded in messages:
            yield channel.topic, message.log_time, decoded


def _stream_messages(f: BinaryIO, topics: list[str] | None) -> Iterator[tuple[str, int, Any]]:
    """The messages of an MCAP stream in write order, up to its first incomplete record."""
    from mcap.exceptions import McapError
    from mcap.records import Channel, Message, Schema
    from mcap.stream_reader import StreamReader
    from mcap_ros2.decoder import DecoderFactory

    factory = DecoderFactory()
    schemas: dict[int, Schema] = {}
    channels: dict[int, Channel] = {}
    decoders: dict[int, Any] = {}
    count = 0
    try:
        for record in StreamReader(f, skip_magic=False, emit_chunks=False).records:
            if isinstance(record, Schema):
                schemas[record.id] = record
            elif isinstance(record, Channel):
                channels[record.id] = record
            elif isinstance(record, Message):
                channel = channels[record.channel_id]
                if topics is not None and channel.topic not in topics:
                    continue
                if channel.id not in decoders:
                    decoders[channel.id] = factory.decoder_for(channel.message_encoding, schemas.get(channel.schema_id))
                count += 1
                yield channel.topic, record.log_time, decoders[channel.id](record.data)
    except (McapError, EOFError, ValueError, struct.error) as exc:
        log.warning("the recording ends in an incomplete record (%s): recovered %d messages before it", exc, count)
