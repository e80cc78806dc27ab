#!/usr/bin/env python3
"""The gap between an attack and the certified figure, image by image (issue 16 item 4).

usage: attack-certified-gap.py INFER MODEL.bsm JOURNAL ADV_PREFIX

JOURNAL is `verify --journal`'s file (one line per image: field 4 the index, field 6 robust, counterexample
or unknown); ADV_PREFIX the IDX pair `train attack --out` wrote for the same first images. `infer` scores
the adversarial images; on the images verify decided, the script prints the certified accuracy, the
attack's, the gap in points, the counterexamples the attack missed, and any proved-robust image the attack
broke (a bug in one of the two).
"""
import subprocess
import sys
import tempfile

infer, model, journal, adv = sys.argv[1:5]
verdict = {}
for line in open(journal):
    f = line.split()
    verdict[int(f[3])] = f[5]
with tempfile.NamedTemporaryFile("r") as pred:
    subprocess.run([infer, model, "--images", adv + "-images-idx3-ubyte", "--labels", adv + "-labels-idx1-ubyte",
                    "--predictions", pred.name], check=True, stdout=subprocess.DEVNULL)
    preds = [int(x) for x in open(pred.name).read().split()]
labels = list(open(adv + "-labels-idx1-ubyte", "rb").read()[8:])
n = min(len(preds), max(verdict) + 1)
decided = [i for i in range(n) if verdict.get(i) in ("robust", "counterexample")]
unknown = [i for i in range(n) if verdict.get(i) == "unknown"]
robust = sum(verdict[i] == "robust" for i in decided)
left = sum(preds[i] == labels[i] for i in decided)
missed = [i for i in decided if verdict[i] == "counterexample" and preds[i] == labels[i]]
bug = [i for i in decided if verdict[i] == "robust" and preds[i] != labels[i]]
d = max(len(decided), 1)
print(f"images {n}: decided {len(decided)}, unknown {len(unknown)}; certified {robust}/{len(decided)} = {100 * robust / d:.2f}%, "
      f"attack leaves {left}/{len(decided)} = {100 * left / d:.2f}%, gap {100 * (left - robust) / d:.2f} points; "
      f"counterexamples missed {missed}; proved robust but broken (bug) {bug}; "
      f"unknown images the attack broke {[i for i in unknown if preds[i] != labels[i]]}")
sys.exit(1 if bug else 0)
