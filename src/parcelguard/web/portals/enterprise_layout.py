"""The enterprise portal's navigation and page frame, shared by its modules
(``enterprise``, ``enterprise_incidents``, ``enterprise_plans``, ``enterprise_staff``)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from parcelguard.web.render import Nav, page
from parcelguard.web.sections import Section

NAV = [Nav("/enterprise", "Overview"), Nav("/enterprise/alerts", "Alerts"),
       Nav("/enterprise/incidents", "Incidents"), Nav("/enterprise/plans", "Plans"),
       Nav("/enterprise/orders", "Orders"),
       Nav("/enterprise/employees", "Employees"),
       Nav("/enterprise/access", "PI access"),
       Nav("/enterprise/break-glass", "Break-glass uses"),
       Nav("/enterprise/complaints", "Complaints"),
       Nav("/enterprise/channel", "Reporting channel"),
       Nav("/enterprise/referrals", "Police referrals"),
       Nav("/enterprise/conduct", "Evaluations and sanctions"), Nav("/enterprise/keys", "Keys"),
       Nav("/enterprise/notice", "Privacy notice"),
       Nav("/enterprise/subjects", "Data-subject requests"),
       Nav("/enterprise/partners", "Partners"), Nav("/enterprise/bindings", "Virtual numbers"),
       Nav("/enterprise/audits", "Audits")]


def show(request: Request, title: str, sections: list[Section], *,
         messages: list[str] | None = None, errors: list[str] | None = None,
         status_code: int = 200) -> HTMLResponse:
    return page(request, "sections.html", title=title, nav=NAV, sections=sections,
                messages=messages or [], errors=errors or [], status_code=status_code)
