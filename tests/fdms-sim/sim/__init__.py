"""fdms-sim: a local stand-in for ZIMRA's FDMS Fiscal Device Gateway API.

Written from docs/fdms-reference.md and docs/interface.md section 10 only, as an
independent second implementation of the FDMS rules (it never reads or calls
the project's C code), so that a mistake in one shows up as a disagreement
with the other.

Modules:
  wire      JSON in and out with Decimal money, case-insensitive binding,
            ProblemDetails bodies, local (CAT) time helpers.
  signing   signature strings (fdms-reference 4.2, 4.3, 4.5), hashes, sign/verify.
  pki       the simulator's CA, TLS server cert, FDMS signing cert, CSR checks,
            device certificate issuance.
  counters  fiscal day counters computed from receipts, canonical order.
  binding   request bodies -> normalized values (400 / RCPT02), as ASP.NET does.
  rules     RCPT0xx receipt validation with colours.
  store     SQLite persistence of devices, certificates, days, receipts, files.
  faults    the --fault grammar and its matcher.
  runtime   constants, settings, scheduler thread, transaction context.
  api       Sim: configuration, devices, certificates, the simple endpoints;
            with mixins receipts (SubmitReceipt), closing (CloseDay),
            files (SubmitFile, SubmittedFileList), control (/_sim functions).
  server    the HTTPS server: routing, mTLS checks, faults, /_sim endpoints.
"""
