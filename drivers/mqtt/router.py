"""Topic -> decoder: the first route whose filter matches, remembered per topic."""

from __future__ import annotations

from drivers.domain import Reading
from drivers.mqtt.config import TopicRoute
from drivers.mqtt.decoder import Decode
from drivers.mqtt.errors import PayloadError
from drivers.mqtt.registry import DECODERS
from drivers.mqtt.topics import matches

_CACHE_LIMIT = 200_000
"""Distinct topics remembered; a fleet has one or two per meter."""


class Router:
    """Decodes a message with the decoder of the first matching route (config order)."""

    def __init__(self, routes: tuple[TopicRoute, ...]) -> None:
        self._routes = tuple((r.topic_filter, DECODERS[r.payload_format](r)) for r in routes)
        self._by_topic: dict[str, Decode | None] = {}

    def decode(self, topic: str, payload: bytes) -> tuple[Reading, ...]:
        """Readings of one message; ``PayloadError`` when nothing can be read."""
        try:
            decode = self._by_topic[topic]
        except KeyError:
            decode = self._lookup(topic)
        if decode is None:
            raise PayloadError(f"no route for topic {topic!r}")
        return decode(topic, payload)

    def _lookup(self, topic: str) -> Decode | None:
        found = next((d for f, d in self._routes if matches(f, topic)), None)
        if len(self._by_topic) >= _CACHE_LIMIT:
            self._by_topic.clear()
        self._by_topic[topic] = found
        return found
