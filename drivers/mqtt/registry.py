"""The payload formats and their decoders: one explicit dict, no import-time discovery."""

from __future__ import annotations

from drivers.mqtt.decode_metergate import metergate_decoder
from drivers.mqtt.decode_obis import obis_decoder
from drivers.mqtt.decode_tasmota import tasmota_decoder
from drivers.mqtt.decoder import DecoderFactory
from drivers.mqtt.formats import PayloadFormat

DECODERS: dict[PayloadFormat, DecoderFactory] = {
    PayloadFormat.METERGATE: metergate_decoder,
    PayloadFormat.OBIS: obis_decoder,
    PayloadFormat.TASMOTA: tasmota_decoder,
}
