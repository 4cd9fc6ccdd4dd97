"""The trainer's optimizers: FusedRMSprop is torch's RMSprop, one pass per tensor."""
import copy

import pytest
import torch

from rnnmusic.optimizers import FusedRMSprop, clip_and_step, make, total_norm


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
    def run(opt_cls, fused_clip=False):
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
            if fused_clip:  # the trainer's way
                clip_and_step(opt, params, 1.0)
            else:
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                opt.step()
            losses.append(loss.item())
        return params, losses

    p_ref, l_ref = run(torch.optim.RMSprop)
    assert l_ref[-1] < l_ref[0] - 0.3  # it learned
    for fused_clip in (False, True):
        p_fused, l_fused = run(FusedRMSprop, fused_clip)
        assert l_fused == pytest.approx(l_ref, abs=1e-4)
        assert _close(p_ref, p_fused, atol=1e-4)


def test_rmsprop_training_resumes_bit_for_bit(tmp_path):
    """The trainer's RMSprop (fused on the CPU) through a checkpoint: a run stopped at step 11 and resumed ends at
    exactly the weights of an uninterrupted one, and its saved state has torch.optim.RMSprop's form."""
    from rnnmusic.checkpoint import load_checkpoint, split_prefix
    from rnnmusic.config import ModelConfig, TrainConfig
    from rnnmusic.run import RunDir
    from rnnmusic.trainer import resume, train

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


def _grads(params, scale, seed):
    gen = torch.Generator().manual_seed(seed)
    for p in params:
        p.grad = torch.randn(p.shape, generator=gen) * scale


def test_total_norm_is_the_norm_of_all_gradients():
    a, _ = _pair()
    _grads(a, 3.0, seed=6)
    grads = [p.grad for p in a]
    expected = torch.linalg.vector_norm(torch.cat([g.reshape(-1) for g in grads]))
    assert total_norm(grads).item() == pytest.approx(expected.item(), rel=1e-6)
    assert total_norm([g.double() for g in grads]).item() == pytest.approx(expected.item(), rel=1e-6)


@pytest.mark.parametrize("kind", ["fused-rmsprop", "fused-adam", "sgd", "torch-rmsprop"])
@pytest.mark.parametrize("scale", [5.0, 1e-3])  # a total norm far above max_norm (clipped), and below it (not)
def test_clip_and_step_is_clip_grad_norm_then_step(kind, scale):
    """Whether the optimizer scales inside its own pass (fused) or the gradients are scaled first, the step is
    the one clip_grad_norm_ and step() take."""
    build = {"fused-rmsprop": lambda ps: FusedRMSprop(ps, lr=1e-2),
             "fused-adam": lambda ps: torch.optim.Adam(ps, lr=1e-2, fused=True),
             "sgd": lambda ps: torch.optim.SGD(ps, lr=1e-2, momentum=0.9),
             "torch-rmsprop": lambda ps: torch.optim.RMSprop(ps, lr=1e-2)}[kind]
    a, b = _pair()
    ref, ours = build(a), build(b)
    start = [p.detach().clone() for p in a]
    for t in range(20):
        _grads(a, scale, seed=t)
        _grads(b, scale, seed=t)
        torch.nn.utils.clip_grad_norm_(a, 0.5)
        ref.step()
        clip_and_step(ours, b, 0.5)
        assert not hasattr(ours, "grad_scale")
    assert _close(a, b, atol=1e-6)
    assert max((p - q).abs().max().item() for p, q in zip(a, start)) > 1e-4  # it moved


def test_clip_and_step_clips():
    """With clipping off, the same gradients move the parameters elsewhere: the clipped comparison above can fail."""
    a, b = _pair()
    ref, ours = torch.optim.SGD(a, lr=1e-2), torch.optim.SGD(b, lr=1e-2)
    _grads(a, 5.0, seed=1)
    _grads(b, 5.0, seed=1)
    clip_and_step(ref, a, 0.5)
    clip_and_step(ours, b, 0.0)
    moved_a = torch.linalg.vector_norm(torch.cat([(p - q).reshape(-1) for p, q in zip(a, _pair()[0])]))
    moved_b = torch.linalg.vector_norm(torch.cat([(p - q).reshape(-1) for p, q in zip(b, _pair()[0])]))
    assert moved_a.item() == pytest.approx(0.5 * 1e-2, rel=1e-4)  # SGD moves by lr x the clipped norm
    assert moved_b.item() > 100 * moved_a.item()
