"""The shape every payload decoder has."""

from __future__ import annotations

from collections.abc import Callable

from drivers.domain import Reading
from drivers.mqtt.config import TopicRoute

Decode = Callable[[str, bytes], tuple[Reading, ...]]
"""(topic, payload) -> readings; raises ``PayloadError`` for what cannot be read."""

DecoderFactory = Callable[[TopicRoute], Decode]
"""Builds the decoder of one route once, so per-route options cost nothing per message."""
