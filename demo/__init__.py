"""The demonstration data of ``make run`` (Haisnes, Douvrin, their agents, a
digital safe), kept out of the runtime package: an app installed only outside
production (settings: not when HTTPS=1), with its commands ``load_demo`` and
``demo_code``."""
