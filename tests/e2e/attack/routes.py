"""Who may use each route: the access policy the matrix holds the app to.

``public``: anyone, no log-in. ``portal:<name> [roles]``: a staff cookie of that
portal's roles (only the roles listed, when some are; the portal's other roles get
403). Otherwise the API roles that get past authorisation with the suite's ids (a
role not listed must be refused: never a 2xx); ``""`` when none does (the suite has
no object of that kind: every principal gets 401, 403 or 404). A route missing here
fails the matrix with what it observed: review that and classify the route the day
it lands.
"""

from __future__ import annotations

ACCESS: dict[str, str] = {
    "GET /api/v1/parcels/{waybill_no}":
        "courier customer_service enterprise_admin security_officer sorter warehouse",
    "GET /api/v1/incidents/forwards": "cac_officer supervisor_admin supervisor_analyst",
    "GET /api/v1/incidents/{incident_id}/notices":
        "enterprise_admin security_officer supervisor_admin supervisor_analyst",
    "POST /api/v1/conduct/decisions/{decision_id}/confirm-referral": "",
    "POST /api/v1/incidents/forwards/{forward_id}/receipt": "",
    "POST /api/v1/incidents/forwards/{forward_id}/send": "",
    "POST /api/v1/incidents/{incident_id}/announcement": "enterprise_admin security_officer",
    "POST /api/v1/waybill/partners/{partner_id}/assessments": "",
    "GET /api/v1/contract/event.schema.json": "public",
    "GET /": "public",
    "GET /api/v1/alerts": "enterprise_admin security_officer supervisor_admin supervisor_analyst",
    "GET /api/v1/alerts/{alert_id}": "",
    "GET /api/v1/audit/engagements":
        "auditor enterprise_admin security_officer supervisor_admin supervisor_analyst",
    "GET /api/v1/audit/engagements/{engagement_id}":
        "auditor enterprise_admin security_officer supervisor_admin supervisor_analyst",
    "GET /api/v1/audit/engagements/{engagement_id}/access-log":
        "auditor enterprise_admin security_officer supervisor_admin supervisor_analyst",
    "GET /api/v1/audit/engagements/{engagement_id}/report": "",
    "GET /api/v1/audit/engagements/{engagement_id}/results":
        "auditor enterprise_admin security_officer supervisor_admin supervisor_analyst",
    "GET /api/v1/audit/findings":
        "auditor enterprise_admin security_officer supervisor_admin supervisor_analyst",
    "GET /api/v1/audit/ranking": "supervisor_admin supervisor_analyst",
    "GET /api/v1/audit/rulebook": "public",
    "GET /api/v1/audit/scorecards/{enterprise_id}":
        "enterprise_admin security_officer supervisor_admin supervisor_analyst",
    "GET /api/v1/channel/reports": "customer_service enterprise_admin security_officer",
    "GET /api/v1/channel/reports/{report_id}": "",
    "GET /api/v1/channel/reports/{report_id}/attachments/{attachment_id}": "",
    "GET /api/v1/channel/reports/{report_id}/triangulation": "",
    "GET /api/v1/channel/stats":
        "customer_service enterprise_admin security_officer supervisor_admin supervisor_analyst",
    "GET /api/v1/checkpoints/{enterprise_id}": "",
    "GET /api/v1/conduct/appeals": "enterprise_admin security_officer",
    "GET /api/v1/conduct/decisions": "courier enterprise_admin security_officer sorter warehouse",
    "GET /api/v1/conduct/employees/{employee_id}/window": "enterprise_admin security_officer",
    "GET /api/v1/consent/notice": "customer_service enterprise_admin security_officer",
    "GET /api/v1/consent/notice/versions": "customer_service enterprise_admin security_officer",
    "GET /api/v1/consent/notice/versions/{version}":
        "customer_service enterprise_admin security_officer",
    "GET /api/v1/consent/subjects/{subject_id}":
        "customer_service enterprise_admin security_officer",
    "GET /api/v1/dsr": "customer_service enterprise_admin",
    "GET /api/v1/dsr/{request_id}": "",
    "GET /api/v1/health": "public",
    # -- tiles: tlog-tiles of each enterprise's ledger; leaves hold ids, never PI --
    "GET /tlog/{enterprise_id}/checkpoint": "public",
    "GET /tlog/{enterprise_id}/tile/{path:path}": "public",
    # -- end tiles --
    "GET /api/v1/incidents":
        "enterprise_admin security_officer supervisor_admin supervisor_analyst",
    "GET /api/v1/incidents/escalations":
        "enterprise_admin security_officer supervisor_admin supervisor_analyst",
    "GET /api/v1/incidents/inbox": "supervisor_admin supervisor_analyst",
    "GET /api/v1/incidents/interventions":
        "enterprise_admin security_officer supervisor_admin supervisor_analyst",
    "GET /api/v1/incidents/{incident_id}":
        "enterprise_admin security_officer supervisor_admin supervisor_analyst",
    "GET /api/v1/pi/break-glass": "enterprise_admin security_officer",
    "GET /api/v1/pi/exports": "customer_service enterprise_admin security_officer",
    "GET /api/v1/pi/suspensions": "enterprise_admin security_officer",
    "GET /api/v1/plans": "enterprise_admin security_officer supervisor_admin supervisor_analyst",
    "GET /api/v1/plans/drills/status":
        "enterprise_admin security_officer supervisor_admin supervisor_analyst",
    "GET /api/v1/plans/{plan_id}": "",
    "GET /api/v1/plans/{plan_id}/drills": "",
    "GET /api/v1/referrals":
        "enterprise_admin police_investigator security_officer supervisor_admin supervisor_analyst",
    "GET /api/v1/referrals/data-requests/{request_id}/package": "",
    "GET /api/v1/referrals/{referral_id}":
        "enterprise_admin police_investigator security_officer supervisor_admin supervisor_analyst",
    "GET /api/v1/referrals/{referral_id}/data-requests":
        "enterprise_admin police_investigator security_officer supervisor_admin supervisor_analyst",
    "GET /api/v1/referrals/{referral_id}/evidence":
        "enterprise_admin police_investigator security_officer",
    "GET /api/v1/referrals/{referral_id}/log":
        "enterprise_admin police_investigator security_officer supervisor_admin supervisor_analyst",
    "GET /api/v1/transparency/{enterprise_id}/{period}": "public",
    "GET /api/v1/transparency/{enterprise_id}/{period}/budget": "enterprise_admin supervisor_admin",
    "GET /api/v1/waybill/bindings":
        "courier customer_service enterprise_admin security_officer sorter warehouse",
    "GET /api/v1/waybill/labels/count":
        "courier customer_service enterprise_admin security_officer sorter warehouse",
    "GET /api/v1/waybill/partners":
        "courier customer_service enterprise_admin security_officer sorter warehouse",
    "GET /api/v1/waybill/tokens/{token}":
        "courier customer_service enterprise_admin security_officer sorter warehouse",
    "GET /auditor": "portal:auditor",
    "GET /auditor/engagements/{engagement_id}": "portal:auditor",
    "GET /consumer": "public",
    "GET /consumer/evaluate/{token}": "public",
    "GET /consumer/follow": "public",
    "GET /consumer/report": "public",
    "GET /consumer/rights": "public",
    "GET /consumer/ship": "public",
    "GET /consumer/shipped": "public",  # portal: the answer to a shipping post (PRG)
    "GET /consumer/track": "public",
    # flows: the pages after the proof's redirects (PRG); a session cookie opens them
    "GET /consumer/track/code": "public",
    "GET /consumer/rights/code": "public",
    "GET /consumer/rights/copy/{request_id}": "public",
    "GET /courier": "portal:courier",
    "GET /docs": "public",
    "GET /assets/plotly.min.js": "public",  # the overview charts' script (plotly package)
    "GET /assets/plotly.css": "public",  # plotly's style rules, read from that script
    "GET /enterprise": "portal:enterprise enterprise_admin security_officer",
    "GET /enterprise/alerts": "portal:enterprise enterprise_admin security_officer",
    "GET /enterprise/complaints": "portal:enterprise",
    "GET /enterprise/complaints/{report_id}": "portal:enterprise",
    "GET /enterprise/conduct": "portal:enterprise",
    "GET /enterprise/employees": "portal:enterprise",
    "GET /enterprise/incidents": "portal:enterprise enterprise_admin security_officer",
    "GET /enterprise/incidents/{incident_id}":
        "portal:enterprise enterprise_admin security_officer",
    "GET /enterprise/keys": "portal:enterprise",
    "GET /enterprise/plans": "portal:enterprise enterprise_admin security_officer",
    "GET /login": "public",
    "GET /openapi.json": "public",
    "GET /police": "portal:police",
    "GET /police/referrals/{referral_id}": "portal:police",
    "GET /supervisor": "portal:supervisor",
    "GET /supervisor/inbox": "portal:supervisor",
    "GET /supervisor/incidents/{incident_id}": "portal:supervisor",
    "GET /supervisor/orders": "portal:supervisor",
    "GET /supervisor/plans": "portal:supervisor",
    "GET /supervisor/report": "portal:supervisor",
    "POST /api/v1/alerts/{alert_id}/ack": "",
    "POST /api/v1/alerts/{alert_id}/close": "",
    "POST /api/v1/audit/engagements": "enterprise_admin supervisor_admin",
    "POST /api/v1/audit/engagements/{engagement_id}/attestations": "",
    "POST /api/v1/audit/engagements/{engagement_id}/cancel": "auditor supervisor_admin",
    "POST /api/v1/audit/engagements/{engagement_id}/evaluate": "",
    "POST /api/v1/audit/engagements/{engagement_id}/findings": "",
    "POST /api/v1/audit/engagements/{engagement_id}/report": "",
    "POST /api/v1/audit/engagements/{engagement_id}/samples": "",
    "POST /api/v1/audit/engagements/{engagement_id}/start": "auditor",
    "POST /api/v1/audit/findings/{finding_id}/answer": "",
    "POST /api/v1/audit/findings/{finding_id}/close": "",
    "POST /api/v1/channel/canaries": "enterprise_admin security_officer",
    "POST /api/v1/channel/canaries/calls": "enterprise_admin security_officer",
    "POST /api/v1/channel/canaries/scan": "enterprise_admin security_officer",
    "POST /api/v1/channel/reports/{report_id}/acknowledge": "",
    "POST /api/v1/channel/reports/{report_id}/answer": "",
    "POST /api/v1/channel/reports/{report_id}/close": "",
    "POST /api/v1/channel/reports/{report_id}/links": "",
    "POST /api/v1/channel/reports/{report_id}/messages": "",
    "POST /api/v1/channel/reports/{report_id}/refer": "",
    "POST /api/v1/channel/triangulate": "customer_service enterprise_admin security_officer",
    "POST /api/v1/channel/{enterprise_id}/follow-up": "public",
    "POST /api/v1/channel/{enterprise_id}/follow-up/messages": "public",
    "POST /api/v1/channel/{enterprise_id}/reports": "public",
    "POST /api/v1/checkpoints": "enterprise_admin ingest_client",
    "POST /api/v1/conduct/appeals/{appeal_id}/decision": "",
    "POST /api/v1/conduct/decisions/{decision_id}/appeal": "",
    "POST /api/v1/conduct/evaluations": "public",
    "POST /api/v1/conduct/links": "enterprise_admin security_officer",
    "POST /api/v1/conduct/run": "enterprise_admin security_officer",
    "POST /api/v1/conduct/signals": "enterprise_admin security_officer",
    "POST /api/v1/consent/notice/versions": "enterprise_admin",
    "POST /api/v1/consent/subjects/{subject_id}/acknowledgements":
        "customer_service enterprise_admin",
    "POST /api/v1/consent/subjects/{subject_id}/grants": "customer_service enterprise_admin",
    "POST /api/v1/consent/subjects/{subject_id}/withdrawals": "customer_service enterprise_admin",
    "POST /api/v1/dsr": "customer_service enterprise_admin",
    "POST /api/v1/dsr/{request_id}/correction": "customer_service enterprise_admin",
    "POST /api/v1/dsr/{request_id}/deletion": "",
    "POST /api/v1/dsr/{request_id}/reject": "",
    "POST /api/v1/dsr/{request_id}/start": "",
    "POST /api/v1/events": "enterprise_admin ingest_client",
    "POST /api/v1/incidents": "enterprise_admin security_officer",
    "POST /api/v1/incidents/escalations/sweep": "supervisor_admin supervisor_analyst",
    "POST /api/v1/incidents/from-alert/{alert_id}": "",
    "POST /api/v1/incidents/interventions": "enterprise_admin security_officer",
    "POST /api/v1/incidents/interventions/{intervention_id}/acknowledge": "",
    "POST /api/v1/incidents/interventions/{intervention_id}/lift": "",
    "POST /api/v1/incidents/{incident_id}/evidence": "enterprise_admin security_officer",
    "POST /api/v1/incidents/{incident_id}/notices": "enterprise_admin security_officer",
    "POST /api/v1/incidents/{incident_id}/reports/{report_id}/file": "",
    "POST /api/v1/incidents/{incident_id}/reports/{report_id}/supplements": "",
    "POST /api/v1/incidents/{incident_id}/tasks/{task_id}/done": "",
    "POST /api/v1/incidents/{incident_id}/transitions": "enterprise_admin security_officer",
    "POST /api/v1/pi/break-glass": "",
    "POST /api/v1/pi/break-glass/{record_id}/review": "",
    "POST /api/v1/pi/exports": "customer_service security_officer",
    "POST /api/v1/pi/exports/{request_id}/approve": "",
    "POST /api/v1/pi/exports/{request_id}/run": "",
    "POST /api/v1/pi/reveal": "",
    "POST /api/v1/pi/search": "",
    "POST /api/v1/pi/suspensions": "enterprise_admin security_officer",
    "POST /api/v1/pi/suspensions/{suspension_id}/lift": "",
    "POST /api/v1/plans": "enterprise_admin security_officer",
    "POST /api/v1/plans/{plan_id}/drills": "",
    "POST /api/v1/plans/{plan_id}/review": "",
    "POST /api/v1/referrals/data-requests/{request_id}/decision": "",
    "POST /api/v1/referrals/{referral_id}/accept": "police_investigator",
    "POST /api/v1/referrals/{referral_id}/conclude": "police_investigator",
    "POST /api/v1/referrals/{referral_id}/data-requests": "police_investigator",
    "POST /api/v1/referrals/{referral_id}/decline": "police_investigator",
    "POST /api/v1/referrals/{referral_id}/evidence/verify":
        "enterprise_admin police_investigator security_officer supervisor_admin supervisor_analyst",
    "POST /api/v1/sessions": "public",
    "POST /api/v1/transparency/{enterprise_id}/{period}": "enterprise_admin supervisor_admin",
    "POST /api/v1/waybill/bindings": "",
    "POST /api/v1/waybill/bindings/expire": "enterprise_admin",
    "POST /api/v1/waybill/labels": "courier sorter",
    "POST /api/v1/waybill/mask":
        "courier customer_service enterprise_admin security_officer sorter warehouse",
    "POST /api/v1/waybill/parcels/{waybill_no}/call": "courier",
    "POST /api/v1/waybill/parcels/{waybill_no}/resolve": "courier",
    "POST /api/v1/waybill/partners": "enterprise_admin",
    "POST /api/v1/waybill/partners/{partner_id}/contracts": "",
    "POST /api/v1/waybill/shares": "enterprise_admin",
    "POST /auditor/{op}": "portal:auditor",
    "POST /consumer/evaluate/{token}": "public",
    "POST /consumer/follow": "public",
    "POST /consumer/report": "public",
    "POST /consumer/rights": "public",
    "POST /consumer/ship": "public",
    "POST /consumer/track": "public",
    "POST /courier/call": "portal:courier",
    "POST /courier/label": "portal:courier",
    "POST /courier/reveal": "portal:courier",
    "POST /enterprise/alerts/{op}": "portal:enterprise enterprise_admin security_officer",
    "POST /enterprise/complaints/{report_id}/{op}": "portal:enterprise",
    "POST /enterprise/employees/{op}": "portal:enterprise enterprise_admin",
    "POST /enterprise/incidents/{incident_id}/{op}":
        "portal:enterprise enterprise_admin security_officer",
    "POST /enterprise/keys/{op}": "portal:enterprise enterprise_admin",
    "POST /login": "public",
    "POST /police/referrals/{referral_id}/{op}": "portal:police",
    "POST /supervisor/orders": "portal:supervisor supervisor_admin",
    "POST /supervisor/plans/review": "portal:supervisor",
    "POST /logout": "public",
    # --- staffweb ---
    "GET /enterprise/incidents/{incident_id}/reports/{report_id}":
        "portal:enterprise enterprise_admin security_officer",
    "GET /supervisor/incidents/{incident_id}/reports/{report_id}": "portal:supervisor",
    "GET /enterprise/plans/{plan_id}": "portal:enterprise enterprise_admin security_officer",
    "POST /enterprise/plans/submit": "portal:enterprise enterprise_admin security_officer",
    "POST /enterprise/plans/{plan_id}/drill":
        "portal:enterprise enterprise_admin security_officer",
    "GET /enterprise/orders": "portal:enterprise enterprise_admin security_officer",
    "POST /enterprise/orders/{op}": "portal:enterprise enterprise_admin security_officer",
    "GET /supervisor/plans/{plan_id}": "portal:supervisor",
    "POST /supervisor/orders/{op}": "portal:supervisor",
    "GET /enterprise/referrals": "portal:enterprise enterprise_admin security_officer",
    "POST /enterprise/referrals/data/{decision}": "portal:enterprise enterprise_admin",
    "GET /auditor/engagements/{engagement_id}/preview": "portal:auditor",
    "POST /enterprise/incidents/open": "portal:enterprise enterprise_admin security_officer",
    # --- flows ---
    "GET /supervisor/forwards": "portal:supervisor",
    "POST /supervisor/forwards/send": "portal:supervisor supervisor_admin",
    # --- portals ---
    "GET /supervisor/referrals": "portal:supervisor",
    "POST /supervisor/referrals/order": "portal:supervisor supervisor_admin",
    "GET /cac": "portal:cac",
    "POST /cac/receipt": "portal:cac",
    "GET /enterprise/break-glass": "portal:enterprise enterprise_admin security_officer",
    "POST /enterprise/break-glass/review": "portal:enterprise enterprise_admin security_officer",
    # --- portals2 ---
    "POST /enterprise/conduct/{op}": "portal:enterprise enterprise_admin security_officer",
    "POST /courier/appeal": "portal:courier",
    "GET /enterprise/channel": "portal:enterprise",
    "POST /enterprise/channel/triangulate": "portal:enterprise",
    "POST /enterprise/channel/{op}": "portal:enterprise enterprise_admin security_officer",
    "GET /enterprise/access": "portal:enterprise",
    "POST /enterprise/access/{op}": "portal:enterprise",
    # --- portals3 ---
    "GET /police/referrals/{referral_id}/evidence": "portal:police",
    "GET /police/support": "portal:police",
    "POST /police/support/receive": "portal:police",
    "POST /auditor/engagements/{engagement_id}/{op}": "portal:auditor",
    "GET /supervisor/audits": "portal:supervisor",
    "POST /supervisor/audits/engage": "portal:supervisor supervisor_admin",
    "GET /supervisor/transparency/{enterprise_id}": "portal:supervisor supervisor_admin",
    "POST /supervisor/transparency/{enterprise_id}/publish": "portal:supervisor supervisor_admin",
    "GET /cac/forwards/{forward_id}": "portal:cac",
    "GET /enterprise/audits": "portal:enterprise enterprise_admin security_officer",
    "GET /enterprise/transparency": "portal:enterprise enterprise_admin",
    "POST /enterprise/transparency/publish": "portal:enterprise enterprise_admin",
    "GET /enterprise/notice": "portal:enterprise",
    "POST /enterprise/notice/publish": "portal:enterprise enterprise_admin",
    "GET /enterprise/subjects": "portal:enterprise enterprise_admin customer_service",
    "POST /enterprise/subjects/{op}": "portal:enterprise enterprise_admin customer_service",
    "GET /enterprise/partners": "portal:enterprise",
    "POST /enterprise/partners/{op}": "portal:enterprise enterprise_admin",
    "POST /enterprise/partners/share": "portal:enterprise enterprise_admin",
    "GET /enterprise/bindings": "portal:enterprise",
    "POST /enterprise/bindings/expire": "portal:enterprise enterprise_admin",
}

# --- national: the federation surface of `parcelguard node serve` ---
# What a node serves beyond `parcelguard serve`'s routes (above), on HTTPS that admits
# only clients with a certificate of the federation CA: no certificate, or one of
# another CA, gets no HTTP answer at all (tests/e2e/attack/test_node_routes.py).
# Past TLS:
#   ``node:member``  only a node the directory lists, signing with the key it lists
#                    and presenting its own certificate; any other node gets 400/403;
#   ``node:any``     any node of the CA: what it serves is signed and checked by its
#                    reader (the directory, by the supervision key; the tiles, by the
#                    checkpoint key) or judged by content alone (a witness cosigns only
#                    a checkpoint that verifies with a key its directory lists).
NODE_ACCESS: dict[str, str] = {
    "POST /node/v1/inbox": "node:member",
    "GET /node/v1/directory": "node:any",
    "POST /witness/add-checkpoint": "node:any",
    # on an enterprise node (the application's routes, public there, over mutual TLS)
    "GET /tlog/{enterprise_id}/checkpoint": "node:any",
    "GET /tlog/{enterprise_id}/tile/{path:path}": "node:any",
}
# --- end national ---
