"""Test doubles of the services Beffroi talks to, kept out of the runtime
package (``beffroi``): a push service that checks VAPID and decrypts every
message (``push_service``), OVHcloud's SMS API with its signatures
(``ovh_sms``). The tests start them in threads; the benchmarks as processes
(``python -m fakes.push_service``)."""
