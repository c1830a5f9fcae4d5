"""Server-rendered web portals (Jinja2, Babel, no JavaScript needed) for consumers,
couriers, enterprise security, the supervision department, the police and auditors.
Each portal calls the domain services' public functions; this package holds no
domain logic of its own beyond staff log-in with TOTP (docs/web.md)."""
