"""The privacy waybill's use cases that reveal PI, behind the gate: issuing labels,
resolving virtual numbers, sharing with partners (HPKE payloads), and their routes
(/api/v1/waybill) and commands (`parcelguard waybill ...`). What needs no plaintext
(masking, label rendering, the label register, binding storage, telephony) is in
``parcelguard.waybill``; this half sits in ``access`` because only the gate decrypts."""
