"""The trainer's optimizers: FusedRMSprop is torch's RMSprop, one pass per tensor."""
import copy

import pytest
import torch

from rnnmusic.optimizers import FusedRMSprop, make


def _pair(shapes=((40, 7), (33,), (3, 4, 5))):
    torch.manual_seed(0)
    a = [torch.nn.Parameter(torch.randn(s)) for s in shapes]
    b = [torch.nn.Parameter(p.detach().clone()) for p in a]
    return a, b


def _steps(opts_params, n, seed, lr_of=lambda t: 1e-3):
    """`n` steps of every (optimizer, params) on the same gradients (of growing and shrinking size)."""
    gen = torch.Generator().manual_seed(seed)
    for t in range(n):
        grads = [torch.randn(p.shape, generator=gen) * (0.1 + t % 5) for p in opts_params[0][1]]
        for opt, params in opts_params:
            for p, g in zip(params, grads):
                p.grad = g.clone()
            for group in opt.param_groups:
                group["lr"] = lr_of(t)
            opt.step()


def _close(a, b, atol=1e-5):
    return all(torch.allclose(p, q, rtol=1e-4, atol=atol) for p, q in zip(a, b))


@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_fused_rmsprop_follows_torch_rmsprop(weight_decay):
    a, b = _pair()
    ref = torch.optim.RMSprop(a, lr=1e-3, weight_decay=weight_decay)
    fused = FusedRMSprop(b, lr=1e-3, weight_decay=weight_decay)
    _steps([(ref, a), (fused, b)], 120, seed=1, lr_of=lambda t: 1e-3 * (1 + t % 3))  # a changing lr, as schedules do
    moved = max((p - q).abs().max().item() for p, q in zip(a, _pair()[0]))
    assert moved > 0.05  # the parameters did move, so agreeing is not trivial
    assert _close(a, b)
    for pa, pb in zip(a, b):
        sa, sb = ref.state[pa], fused.state[pb]
        assert sorted(sa) == sorted(sb) == ["square_avg", "step"]
        assert sa["step"].item() == sb["step"].item() == 120
        assert torch.allclose(sa["square_avg"], sb["square_avg"], rtol=1e-5)


def test_fused_rmsprop_leaves_other_updates_different():
    """The comparison above can fail: Adam on the same gradients ends elsewhere."""
    a, b = _pair()
    _steps([(torch.optim.RMSprop(a, lr=1e-3), a), (torch.optim.Adam(b, lr=1e-3), b)], 120, seed=1)
    assert not _close(a, b)


@pytest.mark.parametrize("first", ["torch", "fused"])
def test_state_moves_between_torch_and_fused_rmsprop(first):
    """A checkpoint written by either resumes in the other (torch's on a GPU, ours on the CPU)."""
    a, b = _pair()
    kinds = {"torch": torch.optim.RMSprop, "fused": FusedRMSprop}
    second = "fused" if first == "torch" else "torch"
    opt_a = kinds[first](a, lr=1e-3)
    _steps([(opt_a, a)], 30, seed=2)
    with torch.no_grad():
        for p, q in zip(a, b):
            q.copy_(p)
    opt_b = kinds[second](b, lr=1e-3)
    opt_b.load_state_dict(copy.deepcopy(opt_a.state_dict()))  # as from a file: the state is not shared
    _steps([(opt_a, a), (opt_b, b)], 30, seed=3)
    assert _close(a, b)
    # without the state its first steps are far larger: the state carried over mattered
    c = [torch.nn.Parameter(p.detach().clone()) for p in b]
    fresh = kinds[second](c, lr=1e-3)
    _steps([(opt_b, b), (fresh, c)], 5, seed=4)
    assert not _close(b, c, atol=1e-6)


def test_fused_rmsprop_refuses_a_momentum_state():
    a, b = _pair()
    ref = torch.optim.RMSprop(a, lr=1e-3, momentum=0.9)
    _steps([(ref, a)], 2, seed=5)
    fused = FusedRMSprop(b, lr=1e-3)
    fused.load_state_dict(ref.state_dict())
    for p in b:
        p.grad = torch.ones_like(p)
    with pytest.raises(ValueError, match="momentum"):
        fused.step()


def test_make_picks_the_fused_rmsprop_on_the_cpu_only():
    params = [torch.nn.Parameter(torch.zeros(3))]
    assert type(make("rmsprop", params, 1e-3, 0.0, torch.device("cpu"))) is FusedRMSprop
    assert type(make("rmsprop", params, 1e-3, 0.0, torch.device("cuda"))) is torch.optim.RMSprop
    adam = make("adam", params, 1e-3, 0.0, torch.device("cpu"))
    assert isinstance(adam, torch.optim.Adam) and adam.defaults["fused"]
    assert isinstance(make("sgd", params, 1e-3, 0.0, torch.device("cpu")), torch.optim.SGD)
    with pytest.raises(ValueError, match="unknown optimizer 'lbfgs'"):
        make("lbfgs", params, 1e-3, 0.0, torch.device("cpu"))


def test_an_lstm_trains_the_same_with_either_rmsprop():
    """The real use: an LSTM language model, gradients clipped, 40 steps; both optimizers end at the same weights."""
    def run(opt_cls):
        torch.manual_seed(7)
        emb, lstm, head = torch.nn.Embedding(20, 8), torch.nn.LSTM(8, 16, num_layers=2), torch.nn.Linear(16, 20)
        params = [*emb.parameters(), *lstm.parameters(), *head.parameters()]
        opt = opt_cls(params, lr=3e-3)
        data = torch.randint(0, 20, (41, 4), generator=torch.Generator().manual_seed(8))
        losses = []
        for _ in range(40):
            out, _ = lstm(emb(data[:-1]))
            loss = torch.nn.functional.cross_entropy(head(out).reshape(-1, 20), data[1:].reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            losses.append(loss.item())
        return params, losses

    p_ref, l_ref = run(torch.optim.RMSprop)
    p_fused, l_fused = run(FusedRMSprop)
    assert l_ref[-1] < l_ref[0] - 0.3  # it learned
    assert l_fused == pytest.approx(l_ref, abs=1e-4)
    assert _close(p_ref, p_fused, atol=1e-4)


def test_rmsprop_training_resumes_bit_for_bit(tmp_path):
    """The trainer's RMSprop (fused on the CPU) through a checkpoint: a run stopped at step 11 and resumed ends at
    exactly the weights of an uninterrupted one, and its saved state has torch.optim.RMSprop's form."""
    from rnnmusic.checkpoint import load_checkpoint, split_prefix
    from rnnmusic.config import ModelConfig, TrainConfig
    from rnnmusic.run import RunDir
    from rnnmusic.train import resume, train

    tiny = dict(corpus=["oneills"], max_tunes=60, encoding="abc-tokens", epochs=2, batch_size=8, seq_len=32,
                sample_every=0, deterministic=True, seed=3, patience=0, optimizer="rmsprop", lr=2e-3)
    model = dict(cell="lstm", layers=2, hidden=16, embed=8, dropout=0.1)

    def final(run):
        tensors, meta = load_checkpoint(RunDir(run).step_checkpoints()[0])
        assert meta["progress"]["done"] == "epochs"
        return tensors, meta

    train(tmp_path / "ref", TrainConfig(**tiny), ModelConfig(**model), progress_bar=False)
    first = train(tmp_path / "cut", TrainConfig(**tiny, max_steps=11), ModelConfig(**model), progress_bar=False)
    assert first.stopped.startswith("interrupted") and first.progress.step == 11
    resume(tmp_path / "cut", {"max_steps": None}, progress_bar=False)
    (ref, meta), (cut, _) = final(tmp_path / "ref"), final(tmp_path / "cut")
    assert ref.keys() == cut.keys()
    assert all(torch.equal(ref[k], cut[k]) for k in ref)
    optim = split_prefix(ref, "optim")
    assert {k.split(".", 1)[1] for k in optim} == {"step", "square_avg"}
    group = meta["optimizer"]["param_groups"][0]
    assert group["alpha"] == 0.99 and group["momentum"] == 0.0 and not group["centered"]
