"""Writes of the signalements, one module per purpose, one transaction each.

- ``submission``: what inhabitants send (a report, a follow, the author's messages);
- ``agents``: the agents' work (transitions, transfer, assignment, messages, photos, moderation);
- ``escalation``: a report nobody acknowledged;
- ``retention``: erasing the texts and photos of reports closed long ago;
- ``subscriptions``: Web Push subscriptions of followers and agents;
- ``configuration``: an organisation's categories, questions, routing rules, rota and settings.

Inhabitants' writes are anonymous and go to the report's timeline only; agents'
writes also go to the journal. Every write announces itself, in the same
transaction, on the channels it concerns (see ``_shared``).
"""
