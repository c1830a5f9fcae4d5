"""A person's data over its life, fulfilled behind the gate: data-subject requests
(export, correct, erase; PIPL Arts. 45-47) with their routes (/api/v1/dsr) and
commands (`parcelguard subjects ...`), and retention (crypto-shredding PI past the
period the privacy notice promises). Request records and their lifecycle are
``parcelguard.consent``'s."""
