"""MQTT topic filters: validation, matching, shared-subscription names."""

from __future__ import annotations

from paho.mqtt.client import topic_matches_sub

from drivers.mqtt.errors import MqttConfigError

_FORBIDDEN_IN_GROUP = frozenset("/+#")


def validate_filter(topic_filter: str) -> str:
    """Return ``topic_filter`` if it is a valid MQTT subscription filter, else raise.

    ``$share/...`` is refused here: the share group is a separate setting.
    """
    if not topic_filter or len(topic_filter.encode()) > 65535 or "\x00" in topic_filter:
        raise MqttConfigError(f"topic filter must be 1..65535 bytes without NUL: {topic_filter!r}")
    if topic_filter.startswith("$share/"):
        raise MqttConfigError(
            f"give the plain filter and set share_group instead of {topic_filter!r}"
        )
    levels = topic_filter.split("/")
    for index, level in enumerate(levels):
        if "#" in level and (level != "#" or index != len(levels) - 1):
            raise MqttConfigError(f"'#' must be the whole last level in {topic_filter!r}")
        if "+" in level and level != "+":
            raise MqttConfigError(f"'+' must be a whole level in {topic_filter!r}")
    return topic_filter


def validate_share_group(group: str) -> str:
    """Return ``group`` if it can name a shared subscription group, else raise."""
    if not group or _FORBIDDEN_IN_GROUP & set(group):
        raise MqttConfigError(f"share group must be non-empty without '/', '+', '#': {group!r}")
    return group


def subscription_filter(topic_filter: str, share_group: str | None) -> str:
    """The filter to SUBSCRIBE with: ``$share/<group>/<filter>`` when shared."""
    return topic_filter if share_group is None else f"$share/{share_group}/{topic_filter}"


def matches(topic_filter: str, topic: str) -> bool:
    """Whether ``topic`` (a concrete topic name) matches ``topic_filter``."""
    return bool(topic_matches_sub(topic_filter, topic))
