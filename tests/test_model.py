import math

import pytest
import torch

from rnnmusic.config import ModelConfig
from rnnmusic.errors import UserError
from rnnmusic.model import IGNORE, MusicRNN, count_targets, detach_state, state_from_tensors, state_tensors


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_shapes_and_state_round_trip(cell):
    cfg = ModelConfig(vocab_size=50, cell=cell, layers=2, hidden=32, embed=16, dropout=0.1)
    model = MusicRNN(cfg)
    x = torch.randint(0, 50, (3, 7))
    out, state = model(x)
    assert out.shape == (3, 7, 50)
    assert state["h"].shape == (2, 3, 32)
    assert ("c" in state) == (cell == "lstm")
    loss = model.loss(out, torch.randint(0, 50, (3, 7)))
    assert loss.ndim == 0 and loss.item() > 0
    back = state_from_tensors(state_tensors(detach_state(state)))
    out2, _ = model.eval()(x[:, :1], back)
    assert out2.shape == (3, 1, 50)


def test_carried_state_equals_one_long_pass():
    """Truncated BPTT relies on this: feeding a sequence in chunks with the state carried gives the same outputs."""
    torch.manual_seed(0)
    model = MusicRNN(ModelConfig(vocab_size=20, hidden=24, embed=8, layers=2, dropout=0.0)).eval()
    x = torch.randint(0, 20, (2, 12))
    whole, _ = model(x)
    a, s = model(x[:, :5])
    b, _ = model(x[:, 5:], s)
    assert torch.allclose(torch.cat([a, b], 1), whole, atol=1e-6)


def test_parameter_count_grows_with_hidden():
    small = MusicRNN(ModelConfig(vocab_size=30, hidden=16, embed=8)).num_parameters()
    big = MusicRNN(ModelConfig(vocab_size=30, hidden=32, embed=8)).num_parameters()
    assert big > 2 * small


@pytest.mark.parametrize("bad", [dict(cell="transformer"), dict(layers=0), dict(dropout=1.5)])
def test_bad_config_is_user_error(bad):
    with pytest.raises(UserError):
        MusicRNN(ModelConfig(vocab_size=10, **bad))


def _frames(b, t, d, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(b, t, d, generator=g) < 0.1).float()


@pytest.mark.parametrize("head", ["sigmoid", "nade", "mse"])
@pytest.mark.parametrize("attention", [0, 6])
def test_frame_heads_chunked_equals_whole_and_padding_is_ignored(head, attention):
    torch.manual_seed(0)
    model = MusicRNN(ModelConfig(kind="frames", vocab_size=24, head=head, attention=attention, hidden=16, embed=8,
                                 dropout=0.0)).eval()
    x = _frames(2, 15, 24)
    whole, _ = model(x)
    a, s = model(x[:, :4])
    b, s = model(x[:, 4:9], detach_state(s))
    c, _ = model(x[:, 9:], state_from_tensors(state_tensors(s)))
    assert torch.allclose(torch.cat([a, b, c], 1), whole, atol=1e-5)
    y = _frames(2, 15, 24, seed=1)
    padded = y.clone()
    padded[1, 10:] = IGNORE
    assert count_targets(padded) == 25
    # padded frames contribute nothing: the sum equals the sum over the real frames only
    full = model.loss(whole, y, reduction="sum")
    part = model.loss(whole, padded, reduction="sum")
    only_real = model.loss(whole[:, :10], y[:, :10], "sum") + model.loss(whole[:1, 10:], y[:1, 10:], "sum")
    assert torch.allclose(part, only_real, rtol=1e-5) and part < full
    sampled = model.head.sample(whole[:, -1], torch.rand(2, 24), 1.0)
    assert sampled.shape == (2, 24) and set(sampled.unique().tolist()) <= {0.0, 1.0}


def test_nade_loss_is_the_product_of_its_sequential_conditionals():
    """The vectorised NADE loss equals -log p(frame) computed pitch by pitch, low to high, as sampling does."""
    torch.manual_seed(1)
    model = MusicRNN(ModelConfig(kind="frames", vocab_size=12, head="nade", nade_hidden=5, hidden=8, embed=4,
                                 dropout=0.0)).eval()
    with torch.no_grad():
        model.head.W.normal_(0, 1.0)
        model.head.V.normal_(0, 1.0)
    x = _frames(1, 3, 12)
    out, _ = model(x)
    target = torch.tensor([[1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 1]], dtype=torch.float32)
    loss = model.loss(out[:, -1:], target.unsqueeze(1), reduction="sum").item()
    bv, a = model.head._split(out[0, -1].detach())
    nll = 0.0
    for i in range(12):
        p = torch.sigmoid(bv[i] + (torch.sigmoid(a) * model.head.V[i]).sum()).item()
        nll -= math.log(p if target[0, i] else 1 - p)
        a = a + target[0, i] * model.head.W[i]
    assert loss == pytest.approx(nll, rel=1e-4)


def test_head_must_fit_the_kind():
    with pytest.raises(UserError, match="does not fit"):
        MusicRNN(ModelConfig(kind="tokens", vocab_size=10, head="nade"))


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("attention", [0, 4])
def test_sampling_step_matches_the_core(cell, attention):
    """The one-step inference path (cell functions) gives the core's numbers, step after step, from zero or a
    carried state; training and gradient-enabled calls keep using the core."""
    torch.manual_seed(0)
    m = MusicRNN(ModelConfig(kind="tokens", vocab_size=30, cell=cell, layers=3, hidden=24, embed=8,
                             dropout=0.2, attention=attention)).eval()
    x = torch.randint(0, 30, (3, 9))
    with torch.no_grad():
        whole, whole_state = m(x)
        state, outs = None, []
        for t in range(9):
            out, state = m(x[:, t:t + 1], state)
            outs.append(out)
    assert torch.allclose(torch.cat(outs, 1), whole, atol=1e-5)
    assert state.keys() == whole_state.keys()
    for k in state:
        assert torch.allclose(state[k], whole_state[k], atol=1e-5), k


def test_dropout_in_training_only():
    """Training calls drop units (two calls differ, and differ from eval); eval calls are deterministic, whether
    they go through the core (many steps) or the cell-by-cell sampling path (one step without gradients)."""
    torch.manual_seed(0)
    m = MusicRNN(ModelConfig(kind="tokens", vocab_size=30, layers=2, hidden=24, embed=8, dropout=0.5))
    x = torch.randint(0, 30, (2, 5))
    m.train()
    a, b = m(x)[0], m(x)[0]
    assert not torch.allclose(a, b)
    m.eval()
    with torch.no_grad():
        e1, e2 = m(x)[0], m(x)[0]
        s1, s2 = m(x[:, :1])[0], m(x[:, :1])[0]
    assert torch.equal(e1, e2) and torch.equal(s1, s2)
    assert torch.allclose(s1, e1[:, :1], atol=1e-5) and not torch.allclose(a, e1)
