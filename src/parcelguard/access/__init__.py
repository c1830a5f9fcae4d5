"""The PI gate, the only code that decrypts, and the use cases that reveal through it.

- top level: the gate itself (``service.py``, ``policy.py``), its callers, reasons,
  trail, exports, break-glass and suspensions, with ``/api/v1/pi`` and
  ``parcelguard access``;
- ``waybills/``: labels, virtual numbers and partner sharing (``/api/v1/waybill``,
  ``parcelguard waybill``), the half of the privacy waybill that needs plaintext;
- ``subjects/``: data-subject requests and retention (``/api/v1/dsr``,
  ``parcelguard subjects``, ``parcelguard retention``).
"""
