"""The chief's oracle hands a silent worker's trial out again, waits for running trials, counts each trial once."""

import keras_tuner
import pytest
from helpers import FakeClock
from keras_tuner.engine.trial import TrialStatus

from textattn.tuning import oracles

TIMEOUT = 10.0


def make_oracle(tmp_path, clock=None, cls=oracles.RandomSearchOracle, max_trials=3, **kwargs):
    if cls is not keras_tuner.oracles.RandomSearchOracle:
        kwargs = {"worker_timeout": TIMEOUT, "serving": True, **({"clock": clock} if clock else {}), **kwargs}
    oracle = cls(objective=keras_tuner.Objective("score", "max"), max_trials=max_trials, seed=1, **kwargs)
    oracle._set_project_dir(str(tmp_path), "search")  # what the tuner does
    hp = keras_tuner.HyperParameters()
    hp.Int("x", 0, 1000)
    oracle.update_space(hp)
    return oracle


def finish(oracle, trial, score=0.5):
    oracle.update_trial(trial.trial_id, {"score": score})
    trial.status = TrialStatus.COMPLETED
    oracle.end_trial(trial)


def test_keras_tuners_oracle_loses_a_dead_workers_trial(tmp_path):
    """Why the subclass exists; if KerasTuner starts handing such trials out again this fails."""
    oracle = make_oracle(tmp_path, cls=keras_tuner.oracles.RandomSearchOracle)
    lost = oracle.create_trial("worker1")  # worker1 dies with it
    for _ in range(2):
        finish(oracle, oracle.create_trial("worker0"))
    assert oracle.create_trial("worker0").status == TrialStatus.STOPPED
    assert oracle.trials[lost.trial_id].status == TrialStatus.RUNNING
    assert "worker1" in oracle.tuner_ids  # so the chief never exits


def test_a_silent_workers_trial_goes_to_the_next_worker_and_the_chief_can_exit(tmp_path):
    clock = FakeClock()
    oracle = make_oracle(tmp_path, clock)
    lost = oracle.create_trial("worker1")
    for _ in range(2):
        finish(oracle, oracle.create_trial("worker0"))
        clock.advance(4)
    # Every trial is handed out, but worker1's still runs: worker0 waits instead of stopping.
    assert oracle.create_trial("worker0").status == TrialStatus.IDLE
    clock.advance(TIMEOUT - 8 + 0.1)
    assert oracle.reclaim_silent() == [lost.trial_id]
    rerun = oracle.create_trial("worker0")
    assert rerun.trial_id == lost.trial_id and rerun.status == TrialStatus.RUNNING
    finish(oracle, rerun, score=0.9)
    assert oracle.create_trial("worker0").status == TrialStatus.STOPPED
    assert not oracle.ongoing_trials and not oracle.tuner_ids
    assert sorted(oracle.end_order) == sorted(oracle.trials) and len(oracle.end_order) == 3
    assert all(t.status == TrialStatus.COMPLETED for t in oracle.trials.values())


def test_heartbeats_keep_a_long_trial(tmp_path):
    clock = FakeClock()
    oracle = make_oracle(tmp_path, clock)
    trial = oracle.create_trial("worker1")
    for _ in range(5):
        clock.advance(TIMEOUT * 0.75)
        oracle.get_trial(trial.trial_id)  # the worker's heartbeat
        assert oracle.reclaim_silent() == []
    clock.advance(TIMEOUT + 1)
    assert oracle.reclaim_silent() == [trial.trial_id]


def test_a_worker_restarted_with_its_id_gets_its_trial_back(tmp_path):
    clock = FakeClock()
    oracle = make_oracle(tmp_path, clock)
    first = oracle.create_trial("worker1")
    clock.advance(TIMEOUT / 2)
    again = oracle.create_trial("worker1")  # the restarted process asks
    assert again.trial_id == first.trial_id


def test_a_trial_ended_twice_is_counted_once(tmp_path):
    clock = FakeClock()
    oracle = make_oracle(tmp_path, clock)
    slow = oracle.create_trial("worker1")
    clock.advance(TIMEOUT + 1)
    rerun = oracle.create_trial("worker0")  # reclaims worker1's trial and runs it
    assert rerun.trial_id == slow.trial_id
    finish(oracle, rerun, score=0.9)
    finish(oracle, slow, score=0.1)  # worker1 was only slow: its late end is not counted
    assert oracle.end_order == [slow.trial_id]
    assert oracle.trials[slow.trial_id].score == pytest.approx(0.9)


def test_a_reclaimed_trial_finished_by_its_first_worker_leaves_the_queue(tmp_path):
    clock = FakeClock()
    oracle = make_oracle(tmp_path, clock)
    slow = oracle.create_trial("worker1")
    clock.advance(TIMEOUT + 1)
    oracle.reclaim_silent()
    finish(oracle, slow)
    nxt = oracle.create_trial("worker0")
    assert nxt.trial_id != slow.trial_id and oracle.end_order == [slow.trial_id]


def test_a_restarted_chief_keeps_running_trials_running(tmp_path):
    clock = FakeClock()
    oracle = make_oracle(tmp_path, clock)
    done = oracle.create_trial("worker0")
    finish(oracle, done)
    running = oracle.create_trial("worker1")
    oracle.save()

    restarted = make_oracle(tmp_path, clock)
    restarted.reload()
    assert restarted.end_order == [done.trial_id]
    assert restarted.ongoing_trials["worker1"].trial_id == running.trial_id
    finish(restarted, restarted.get_trial(running.trial_id))  # worker1 trained on while the chief was away
    assert restarted.end_order == [done.trial_id, running.trial_id]
    assert restarted.create_trial("worker1").trial_id not in (done.trial_id, running.trial_id)


def test_a_single_process_search_resumes_as_keras_tuner_does(tmp_path):
    oracle = make_oracle(tmp_path, serving=False)
    running = oracle.create_trial("tuner0")
    oracle.save()
    restarted = make_oracle(tmp_path, serving=False)
    restarted.reload()
    assert restarted.ongoing_trials == {} and restarted._retry_queue == [running.trial_id]


@pytest.mark.parametrize("serving", [True, False])
def test_a_reload_does_not_run_an_ended_trial_again(tmp_path, serving):
    oracle = make_oracle(tmp_path, FakeClock(), serving=serving)
    trial = oracle.create_trial("worker0")
    finish(oracle, trial)
    restarted = make_oracle(tmp_path, FakeClock(), serving=serving)
    restarted.reload()
    assert restarted._retry_queue == [] and restarted.ongoing_trials == {}
    assert restarted.create_trial("worker0").trial_id != trial.trial_id


def test_a_trial_killed_between_its_two_state_files_is_not_run_again(tmp_path):
    """KerasTuner writes trial.json, then oracle.json: a kill in between must not queue the trial again."""
    oracle = make_oracle(tmp_path, serving=False)
    trial = oracle.create_trial("tuner0")  # oracle.json now lists it as running
    oracle.update_trial(trial.trial_id, {"score": 0.7})
    trial = oracle.get_trial(trial.trial_id)
    trial.status, trial.score = TrialStatus.COMPLETED, 0.7
    oracle._save_trial(trial)  # ... and the process dies before oracle.json is written
    restarted = make_oracle(tmp_path, serving=False)
    restarted.reload()
    assert restarted._retry_queue == [] and restarted.end_order == [trial.trial_id]
    assert restarted.create_trial("tuner0").trial_id != trial.trial_id
