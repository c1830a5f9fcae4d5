"""The privacy waybill without plaintext: GB/T 41833 masking, label rendering, the
label register, virtual-number binding storage, the telephony interface and partner
payload crypto. Issuing labels, resolving virtual numbers and sharing with partners
need the PI and so sit behind the gate, in ``parcelguard.access.waybills``, which
also serves ``/api/v1/waybill`` and the ``parcelguard waybill`` commands."""
