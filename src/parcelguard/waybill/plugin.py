"""waybill: masking, privacy-waybill counts, tokens, virtual-number bindings, no PI
(core/plugin.py). Its ``waybill`` command group and its routes under
``/api/v1/waybill`` are mounted by ``parcelguard.access.waybills``, which issues
labels and resolves virtual numbers behind the gate."""

from parcelguard.core.plugin import Plugin

PLUGIN = Plugin("waybill", models=("parcelguard.waybill.models",),
                settings={"waybill": "parcelguard.waybill.settings:WaybillSettings"})
