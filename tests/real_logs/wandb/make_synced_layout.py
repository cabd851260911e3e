"""Lay out the files a synced run has (files/config.yaml, files/wandb-summary.json) with W&B's own code."""

import json
import shutil
import struct
import sys
from pathlib import Path

from wandb.proto import wandb_internal_pb2 as pb
from wandb.sdk.lib import config_util

src, dst = Path(sys.argv[1]), Path(sys.argv[2])
shutil.copytree(src, dst)
log = next(dst.glob("run-*.wandb"))
log.unlink()
data = next(src.glob("run-*.wandb")).read_bytes()
pos, config, summary = 7, {}, {}
while pos + 7 <= len(data):
    left = 32768 - pos % 32768
    if left < 7:
        pos += left
        continue
    crc, n, t = struct.unpack("<IHB", data[pos : pos + 7])
    chunk = data[pos + 7 : pos + 7 + n]
    pos += 7 + n
    r = pb.Record()
    r.ParseFromString(chunk)  # this log's records are all FULL chunks
    k = r.WhichOneof("record_type")
    if k == "run":
        config.update(config_util.dict_from_proto_list(r.run.config.update))
    if k == "config":
        config.update(config_util.dict_from_proto_list(r.config.update))
    if k == "summary":
        for item in r.summary.update:
            keys = list(item.nested_key) or [item.key]
            node = summary
            for key in keys[:-1]:
                node = node.setdefault(key, {})
            node[keys[-1]] = json.loads(item.value_json)
config_util.save_config_file_from_dict(str(dst / "files" / "config.yaml"), config)
(dst / "files" / "wandb-summary.json").write_text(json.dumps(summary))
