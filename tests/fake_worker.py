"""`dlexp search ...` with training replaced by a stand-in, for the distributed-fault
tests: the real CLI, chief client, oracle protocol and trial folders, but each stack
"trains" by sleeping $FAKE_SLEEP seconds and then writes finished run folders whose
score is a function of the point (as tests/test_search.py's FakeTrainer does).

    python tests/fake_worker.py search GRID --runs-dir DIR [--stack N]
"""

import os
import sys
import time

from dlexp.runs import folder as runs
from dlexp.train import fit as training


class SleepyTrainer:
    def __init__(self, *args, **kwargs):
        self.sleep = float(os.environ.get("FAKE_SLEEP", "0"))

    def __call__(self, jobs):
        for job in jobs:  # as the stack trainer does: each folder says it runs
            job.run.write_info(runs.RunInfo(id=job.name, status=runs.Status.RUNNING))
        time.sleep(self.sleep)
        outcomes = []
        for job in jobs:
            cfg = job.cfg
            score = cfg["model"]["first_neuron"] / 100 + (cfg["seed"] % 7) / 1000
            split = {"loss": 1 - score, "accuracy": score}
            metrics = runs.Metrics(
                epochs_run=2, best_epoch=2, params=1, train=split, val=split, test=split
            )
            job.run.write_config(cfg)
            job.run.write_metrics(metrics)
            worker = os.environ.get("KERASTUNER_TUNER_ID")
            job.run.write_info(
                runs.RunInfo(
                    id=job.name, status=runs.Status.COMPLETED, duration_s=0.01, worker=worker
                )
            )
            outcomes.append(training.Outcome(job.run, runs.Status.COMPLETED, metrics))
            job.ended(outcomes[-1])
        return outcomes


def main() -> None:
    import dlexp.train.stack

    dlexp.train.stack.StackTrainer = SleepyTrainer
    training.TrialTrainer = SleepyTrainer
    from dlexp.cli import main as cli_main

    sys.argv = ["dlexp", *sys.argv[1:]]
    cli_main()


if __name__ == "__main__":
    main()
