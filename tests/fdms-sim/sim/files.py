"""Offline mode: SubmitFile (raw JSON or base64 body, synchronous FILE0x
checks, asynchronous processing in fileSequence order, receipts and footer
handled like SubmitReceipt and CloseDay) and SubmittedFileList.
"""
import base64
import decimal
import time

from . import binding, wire
from .runtime import CLOSED, INITIATED, MAX_FILE, OFFLINE, errors_json, has_colour
from .wire import BadRequest, Unprocessable, ci, fmt_dt, now_local, parse_dt, parse_dt_lenient

D = decimal.Decimal


class FilesMixin:
    """Mixed into api.Sim; uses its store, lock, settings and helpers."""

    # ------------------------------------------------------------ files
    def submit_file(self, device_id, headers, raw, ip, operation_id):
        with self.tx():
            dev = self.device_checked(device_id, headers)
            if self.mode(dev) != OFFLINE:
                raise Unprocessable("FILE03", "Device is not in Offline mode")
            if len(raw) > MAX_FILE:
                raise Unprocessable("FILE01", "File is larger than 3 MB")
            doc, text = self._decode_file(raw)
            header = ci(doc, "header")
            b = binding.Binder()
            if not isinstance(header, dict):
                raise Unprocessable("FILE02", "File structure is invalid: header is missing")
            h = {"deviceID": b.integer(header, "deviceID", "header."),
                 "fiscalDayNo": b.integer(header, "fiscalDayNo", "header."),
                 "fiscalDayOpened": b.datetime(header, "fiscalDayOpened", "header."),
                 "fileSequence": b.integer(header, "fileSequence", "header.")}
            content, footer = ci(doc, "content"), ci(doc, "footer")
            if b.errors or (content is not None and not isinstance(content, dict)) or (
                    footer is not None and not isinstance(footer, dict)):
                raise Unprocessable("FILE02", "File structure is invalid: %s"
                                    % "; ".join(sorted(b.errors)) or "content/footer")
            if h["deviceID"] != device_id:
                raise Unprocessable("FILE05", "Device ID in the file header (%d) is not %d"
                                    % (h["deviceID"], device_id))
            day = self.store.day(device_id, h["fiscalDayNo"])
            if day is not None and day["status"] in (CLOSED, INITIATED):
                raise Unprocessable("FILE04", "Fiscal day %d is closed or being closed"
                                    % h["fiscalDayNo"])
            now = now_local()
            fid = self.store.insert_file(
                device_id=device_id, operation_id=operation_id,
                file_name="%d_%d_%d_%s.json" % (device_id, h["fiscalDayNo"], h["fileSequence"],
                                                now.strftime("%Y%m%d%H%M%S")),
                uploaded_at=fmt_dt(now), day_no=h["fiscalDayNo"],
                day_opened=h["fiscalDayOpened"], seq=h["fileSequence"], status="InProgress",
                has_footer=1 if footer is not None else 0, ip=ip, body=text)
        delay = max(0.0, self.settings.close_delay_s)
        self.scheduler.add(time.time() + delay, self.process_file, fid)
        return {}

    @staticmethod
    def _decode_file(raw):
        try:
            text = raw.decode("utf-8-sig").strip()
            if not text.startswith("{"):
                text = base64.b64decode("".join(text.split()), validate=True).decode(
                    "utf-8-sig").strip()
            doc = wire.loads(text)
        except (ValueError, UnicodeDecodeError):
            raise Unprocessable("FILE02", "File structure is invalid: neither JSON nor "
                                "base64-encoded JSON") from None
        if not isinstance(doc, dict):
            raise Unprocessable("FILE02", "File structure is invalid: not a JSON object")
        return doc, text

    def process_file(self, file_id):
        follow = None
        with self.tx():
            f = self.store.file(file_id)
            if f is None or f["status"] not in ("InProgress", "WaitingForPreviousFile"):
                return
            if f["seq"] > 1:
                prev = [x for x in self.store.files_of(f["device_id"])
                        if x["day_no"] == f["day_no"] and x["seq"] == f["seq"] - 1
                        and x["status"] in ("CompleteSuccessful", "FailedWithErrors")]
                if not prev:
                    self.store.update_file(file_id, status="WaitingForPreviousFile")
                    return
            status, error, invalid = self._process_file(f)
            self.store.update_file(file_id, status=status, error=error,
                                   invalid=wire.dumps(invalid),
                                   processed_at=fmt_dt(now_local()))
            for x in self.store.files_of(f["device_id"]):
                if (x["day_no"] == f["day_no"] and x["seq"] == f["seq"] + 1
                        and x["status"] == "WaitingForPreviousFile"):
                    follow = x["file_id"]
        if follow is not None:
            self.process_file(follow)

    def _process_file(self, f):
        device_id = f["device_id"]
        dev = self.store.device(device_id)
        doc = wire.loads(f["body"])
        day = self.store.day(device_id, f["day_no"])
        if day is not None and day["status"] in (CLOSED, INITIATED):
            return "FailedWithErrors", "FileSentForClosedDay", []
        if day is None:
            self.store.insert_day(device_id, f["day_no"], f["day_opened"])
            day = self.store.day(device_id, f["day_no"])
        invalid = []
        content = ci(doc, "content") or {}
        receipts = ci(content, "receipts") or []
        if not isinstance(receipts, list):
            return "FailedWithErrors", "IncorrectFileFormat", []
        bad = False
        for i, rc in enumerate(receipts):
            if not isinstance(rc, dict):
                return "FailedWithErrors", "IncorrectFileFormat", invalid
            try:
                r = binding.bind_receipt(rc, "content.receipts[%d]." % i)
            except wire.ApiError:
                return "FailedWithErrors", "IncorrectFileFormat", invalid
            same = self.store.receipt_by_hash(device_id, r["receiptGlobalNo"],
                                              r["receiptDeviceSignature"]["hash"])
            if same is not None and same["fiscalDayNo"] == f["day_no"]:
                rec = same
            else:
                rec = self._store_receipt(dev, day, r, wire.dumps(rc), f["file_id"])
            if rec["errors"]:
                invalid.append({"receiptCounter": rec["receiptCounter"],
                                "receiptGlobalNo": rec["receiptGlobalNo"],
                                "validationErrors": errors_json(rec["errors"])})
                if has_colour(rec["errors"], "Red") or has_colour(rec["errors"], "Grey"):
                    bad = True
        error = None
        footer = ci(doc, "footer")
        if footer is not None:
            try:
                req = self.bind_close(footer, with_day_no=False)
            except wire.ApiError:
                return "FailedWithErrors", "IncorrectFileFormat", invalid
            req["fiscalDayNo"] = f["day_no"]
            day = self.store.day(device_id, f["day_no"])
            error = self._finish_close(device_id, day, req)
        return ("FailedWithErrors" if error or bad else "CompleteSuccessful"), error, invalid

    def submitted_file_list(self, device_id, headers, query):
        def qp(name):
            for k, v in query.items():
                if k.lower() == name.lower():
                    return v
            return None

        errors = {}
        lo = parse_dt_lenient(qp("FileUploadedFrom") or "")
        hi = parse_dt_lenient(qp("FileUploadedTill") or "")
        if lo is None:
            errors["FileUploadedFrom"] = ["The FileUploadedFrom field is required."]
        if hi is None:
            errors["FileUploadedTill"] = ["The FileUploadedTill field is required."]
        nums = {}
        for name in ("Offset", "Limit"):
            v = qp(name)
            if v is None or not v.isdigit():
                errors[name] = ["The %s field is required." % name]
            else:
                nums[name] = int(v)
        if errors:
            raise BadRequest(errors)
        with self.lock:
            dev = self.device_checked(device_id, headers)
            if self.mode(dev) != OFFLINE:
                raise Unprocessable("FILE03", "Device is not in Offline mode")
            rows = []
            for f in self.store.files_of(device_id):
                up = parse_dt(f["uploaded_at"])
                if not (lo <= up <= hi):
                    continue
                if qp("OperationID") and f["operation_id"] != qp("OperationID"):
                    continue
                rows.append({
                    "fileName": f["file_name"], "fileUploadDate": f["uploaded_at"],
                    "deviceId": device_id, "dayNo": f["day_no"],
                    "fiscalDayOpenedAt": f["day_opened"], "fileSequence": f["seq"],
                    "fileProcessingDate": f["processed_at"],
                    "fileProcessingStatus": f["status"],
                    "fileProcessingError": f["error"], "hasFooter": bool(f["has_footer"]),
                    "operationId": f["operation_id"], "ipAddress": f["ip"],
                    "invoiceWithValidationErrors": wire.loads(f["invalid"]) if f["invalid"] else []})
            sort = {"deviceid": "deviceId", "filename": "fileName",
                    "fileuploaddate": "fileUploadDate", "fileprocessingdate": "fileProcessingDate",
                    "fileprocessingstatus": "fileProcessingStatus",
                    "fileprocessingerror": "fileProcessingError"}.get(
                (qp("Sort") or "FileUploadDate").lower(), "fileUploadDate")
            rows.sort(key=lambda x: (x[sort] is None, str(x[sort]) if sort != "deviceId" else x[sort]),
                      reverse=(qp("Order") or "asc").lower() == "desc")
            return {"total": len(rows),
                    "rows": rows[nums["Offset"]:nums["Offset"] + nums["Limit"]]}

