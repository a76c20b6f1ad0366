"""The book's later models, written as people write them in plain PyTorch (d2l's chapters 7-11).

Widths are cut down where the originals have millions of parameters (AlexNet,
VGG), so the suite stays fast; the structure (layers, nesting, the forward's
code) is the book's.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def lenet() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2), nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(), nn.Linear(84, 10))


def alexnet(width: int = 8) -> nn.Module:
    c = lambda n: n // width   # noqa: E731
    return nn.Sequential(
        nn.Conv2d(1, c(96), kernel_size=11, stride=4, padding=1), nn.ReLU(), nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(c(96), c(256), kernel_size=5, padding=2), nn.ReLU(), nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(c(256), c(384), kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(c(384), c(384), kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(c(384), c(256), kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Flatten(),
        nn.Linear(c(256) * 5 * 5, c(4096)), nn.ReLU(), nn.Dropout(p=0.5),
        nn.Linear(c(4096), c(4096)), nn.ReLU(), nn.Dropout(p=0.5), nn.Linear(c(4096), 10))


def vgg_block(num_convs: int, in_channels: int, out_channels: int) -> nn.Sequential:
    layers = []
    for _ in range(num_convs):
        layers += [nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1), nn.ReLU()]
        in_channels = out_channels
    layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers)


def vgg(arch=((1, 64), (1, 128), (2, 256), (2, 512), (2, 512)), width: int = 16) -> nn.Module:
    blocks, channels = [], 1
    for num_convs, out in arch:
        blocks.append(vgg_block(num_convs, channels, out // width))
        channels = out // width
    return nn.Sequential(*blocks, nn.Flatten(),
                         nn.Linear(channels * 7 * 7, 4096 // width), nn.ReLU(), nn.Dropout(0.5),
                         nn.Linear(4096 // width, 4096 // width), nn.ReLU(), nn.Dropout(0.5),
                         nn.Linear(4096 // width, 10))


def nin_block(in_channels, out_channels, kernel_size, strides, padding) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, strides, padding), nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU())


def nin() -> nn.Module:
    return nn.Sequential(
        nin_block(1, 24, kernel_size=11, strides=4, padding=0), nn.MaxPool2d(3, stride=2),
        nin_block(24, 64, kernel_size=5, strides=1, padding=2), nn.MaxPool2d(3, stride=2),
        nin_block(64, 96, kernel_size=3, strides=1, padding=1), nn.MaxPool2d(3, stride=2),
        nn.Dropout(0.5), nin_block(96, 10, kernel_size=3, strides=1, padding=1),
        nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten())


class Inception(nn.Module):
    def __init__(self, in_channels, c1, c2, c3, c4):
        super().__init__()
        self.b1_1 = nn.Conv2d(in_channels, c1, kernel_size=1)
        self.b2_1 = nn.Conv2d(in_channels, c2[0], kernel_size=1)
        self.b2_2 = nn.Conv2d(c2[0], c2[1], kernel_size=3, padding=1)
        self.b3_1 = nn.Conv2d(in_channels, c3[0], kernel_size=1)
        self.b3_2 = nn.Conv2d(c3[0], c3[1], kernel_size=5, padding=2)
        self.b4_1 = nn.MaxPool2d(kernel_size=3, stride=1, padding=1)
        self.b4_2 = nn.Conv2d(in_channels, c4, kernel_size=1)

    def forward(self, x):
        b1 = F.relu(self.b1_1(x))
        b2 = F.relu(self.b2_2(F.relu(self.b2_1(x))))
        b3 = F.relu(self.b3_2(F.relu(self.b3_1(x))))
        b4 = F.relu(self.b4_2(self.b4_1(x)))
        return torch.cat((b1, b2, b3, b4), dim=1)


def googlenet() -> nn.Module:
    b1 = nn.Sequential(nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3), nn.ReLU(),
                       nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    b2 = nn.Sequential(nn.Conv2d(64, 64, kernel_size=1), nn.ReLU(), nn.Conv2d(64, 192, kernel_size=3, padding=1),
                       nn.ReLU(), nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    b3 = nn.Sequential(Inception(192, 64, (96, 128), (16, 32), 32), Inception(256, 128, (128, 192), (32, 96), 64),
                       nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    b4 = nn.Sequential(Inception(480, 192, (96, 208), (16, 48), 64), Inception(512, 160, (112, 224), (24, 64), 64),
                       Inception(512, 128, (128, 256), (24, 64), 64), Inception(512, 112, (144, 288), (32, 64), 64),
                       Inception(528, 256, (160, 320), (32, 128), 128), nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    b5 = nn.Sequential(Inception(832, 256, (160, 320), (32, 128), 128), Inception(832, 384, (192, 384), (48, 128), 128),
                       nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten())
    return nn.Sequential(b1, b2, b3, b4, b5, nn.Linear(1024, 10))


class Residual(nn.Module):
    def __init__(self, input_channels, num_channels, use_1x1conv=False, strides=1):
        super().__init__()
        self.conv1 = nn.Conv2d(input_channels, num_channels, kernel_size=3, padding=1, stride=strides)
        self.conv2 = nn.Conv2d(num_channels, num_channels, kernel_size=3, padding=1)
        self.conv3 = nn.Conv2d(input_channels, num_channels, kernel_size=1, stride=strides) if use_1x1conv else None
        self.bn1 = nn.BatchNorm2d(num_channels)
        self.bn2 = nn.BatchNorm2d(num_channels)

    def forward(self, X):
        Y = F.relu(self.bn1(self.conv1(X)))
        Y = self.bn2(self.conv2(Y))
        if self.conv3:
            X = self.conv3(X)
        Y += X
        return F.relu(Y)


def resnet18(width: int = 4) -> nn.Module:
    def stage(in_c, out_c, blocks, first=False):
        return nn.Sequential(*[Residual(in_c if i == 0 else out_c, out_c, use_1x1conv=(i == 0 and not first),
                                        strides=2 if i == 0 and not first else 1) for i in range(blocks)])
    c = [64 // width, 128 // width, 256 // width, 512 // width]
    b1 = nn.Sequential(nn.Conv2d(1, c[0], kernel_size=7, stride=2, padding=3), nn.BatchNorm2d(c[0]), nn.ReLU(),
                       nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    return nn.Sequential(b1, stage(c[0], c[0], 2, first=True), stage(c[0], c[1], 2), stage(c[1], c[2], 2),
                         stage(c[2], c[3], 2), nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(c[3], 10))


def conv_block(input_channels, num_channels):
    return nn.Sequential(nn.BatchNorm2d(input_channels), nn.ReLU(),
                         nn.Conv2d(input_channels, num_channels, kernel_size=3, padding=1))


class DenseBlock(nn.Module):
    def __init__(self, num_convs, input_channels, num_channels):
        super().__init__()
        layer = []
        for i in range(num_convs):
            layer.append(conv_block(num_channels * i + input_channels, num_channels))
        self.net = nn.Sequential(*layer)

    def forward(self, X):
        for blk in self.net:
            Y = blk(X)
            X = torch.cat((X, Y), dim=1)
        return X


def transition_block(input_channels, num_channels):
    return nn.Sequential(nn.BatchNorm2d(input_channels), nn.ReLU(),
                         nn.Conv2d(input_channels, num_channels, kernel_size=1),
                         nn.AvgPool2d(kernel_size=2, stride=2))


def densenet(growth_rate: int = 8, num_convs_in_dense_blocks=(2, 2, 2, 2)) -> nn.Module:
    b1 = nn.Sequential(nn.Conv2d(1, 16, kernel_size=7, stride=2, padding=3), nn.BatchNorm2d(16), nn.ReLU(),
                       nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    blks, channels = [], 16
    for i, num_convs in enumerate(num_convs_in_dense_blocks):
        blks.append(DenseBlock(num_convs, channels, growth_rate))
        channels += num_convs * growth_rate
        if i != len(num_convs_in_dense_blocks) - 1:
            blks.append(transition_block(channels, channels // 2))
            channels //= 2
    return nn.Sequential(b1, *blks, nn.BatchNorm2d(channels), nn.ReLU(), nn.AdaptiveAvgPool2d((1, 1)),
                         nn.Flatten(), nn.Linear(channels, 10))


class RNNLM(nn.Module):
    """A language model on a GRU or an LSTM: embedding, recurrent layer, a linear decoder."""

    def __init__(self, kind: str = "gru", vocab: int = 28, hidden: int = 32):
        super().__init__()
        self.embedding = nn.Embedding(vocab, hidden)
        self.rnn = (nn.GRU if kind == "gru" else nn.LSTM)(hidden, hidden, batch_first=True)
        self.decoder = nn.Linear(hidden, vocab)

    def forward(self, tokens):
        output, _ = self.rnn(self.embedding(tokens))
        return self.decoder(output)


class TransformerEncoderModel(nn.Module):
    def __init__(self, vocab: int = 50, d_model: int = 32, heads: int = 4, layers: int = 2):
        super().__init__()
        self.embedding = nn.Embedding(vocab, d_model)
        self.encoder = nn.Sequential(*[nn.TransformerEncoderLayer(d_model, heads, 64, dropout=0.1, batch_first=True)
                                       for _ in range(layers)])
        self.attention = nn.MultiheadAttention(d_model, heads, batch_first=True)
        self.head = nn.Linear(d_model, vocab)

    def forward(self, tokens):
        x = self.encoder(self.embedding(tokens))
        y, _ = self.attention(x, x, x)
        return self.head(y)


class PatchEmbedding(nn.Module):
    def __init__(self, img_size=32, patch_size=8, num_hiddens=32):
        super().__init__()
        self.conv = nn.Conv2d(3, num_hiddens, kernel_size=patch_size, stride=patch_size)

    def forward(self, X):
        return self.conv(X).flatten(2).transpose(1, 2)


class ViTMLP(nn.Module):
    def __init__(self, num_hiddens, mlp_hiddens, dropout=0.1):
        super().__init__()
        self.dense1 = nn.Linear(num_hiddens, mlp_hiddens)
        self.gelu = nn.GELU()
        self.dropout1 = nn.Dropout(dropout)
        self.dense2 = nn.Linear(mlp_hiddens, num_hiddens)
        self.dropout2 = nn.Dropout(dropout)

    def forward(self, x):
        return self.dropout2(self.dense2(self.dropout1(self.gelu(self.dense1(x)))))


class ViTBlock(nn.Module):
    def __init__(self, num_hiddens, mlp_hiddens, num_heads, dropout=0.1):
        super().__init__()
        self.ln1 = nn.LayerNorm(num_hiddens)
        self.attention = nn.MultiheadAttention(num_hiddens, num_heads, dropout=dropout, batch_first=True)
        self.ln2 = nn.LayerNorm(num_hiddens)
        self.mlp = ViTMLP(num_hiddens, mlp_hiddens, dropout)

    def forward(self, X):
        X = self.ln1(X)
        X = X + self.attention(X, X, X, need_weights=False)[0]
        return X + self.mlp(self.ln2(X))


class ViT(nn.Module):
    """d2l's Vision Transformer: patches, a class token, position embeddings, blocks, a head."""

    def __init__(self, img_size=32, patch_size=8, num_hiddens=32, mlp_hiddens=64, num_heads=4, num_blks=2,
                 num_classes=10):
        super().__init__()
        self.patch_embedding = PatchEmbedding(img_size, patch_size, num_hiddens)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, num_hiddens))
        num_steps = (img_size // patch_size) ** 2 + 1
        self.pos_embedding = nn.Parameter(torch.randn(1, num_steps, num_hiddens))
        self.dropout = nn.Dropout(0.1)
        self.blks = nn.Sequential(*[ViTBlock(num_hiddens, mlp_hiddens, num_heads) for _ in range(num_blks)])
        self.head = nn.Sequential(nn.LayerNorm(num_hiddens), nn.Linear(num_hiddens, num_classes))

    def forward(self, X):
        X = self.patch_embedding(X)
        X = torch.cat((self.cls_token.expand(X.shape[0], -1, -1), X), 1)
        X = self.dropout(X + self.pos_embedding)
        X = self.blks(X)
        return self.head(X[:, 0])


class FixedHiddenMLP(nn.Module):
    """The seed's model with data-dependent control flow: torch.fx cannot trace its while loop."""

    def __init__(self):
        super().__init__()
        self.register_buffer("rand_weight", torch.rand((20, 20)))
        self.linear = nn.Linear(20, 20)

    def forward(self, X):
        X = self.linear(X)
        X = F.relu(X @ self.rand_weight + 1)
        X = self.linear(X)
        while X.abs().sum() > 1:
            X /= 2
        return X.sum()


class WithFixedHidden(nn.Module):
    """Only the untraceable part falls back to code; the rest stays blocks."""

    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(8, 20)
        self.hidden = FixedHiddenMLP()

    def forward(self, x):
        return self.hidden(torch.relu(self.inp(x)))


# Parts that become code blocks: DenseBlock's forward calls the items of its Sequential one by one with a
# concatenation between them, so they are neither one Sequential node nor nodes of their own ('net.0' names
# no node).
CODE_BLOCKS = {"densenet": {"DenseBlock"}}

# name -> (factory, example input)
BOOK_MODELS = {
    "lenet": (lenet, lambda: torch.randn(2, 1, 28, 28)),
    "alexnet": (alexnet, lambda: torch.randn(1, 1, 224, 224)),
    "vgg": (vgg, lambda: torch.randn(1, 1, 224, 224)),
    "nin": (nin, lambda: torch.randn(1, 1, 224, 224)),
    "googlenet": (googlenet, lambda: torch.randn(1, 1, 96, 96)),
    "resnet": (resnet18, lambda: torch.randn(2, 1, 96, 96)),
    "densenet": (densenet, lambda: torch.randn(2, 1, 96, 96)),
    "gru_lm": (lambda: RNNLM("gru"), lambda: torch.randint(0, 28, (2, 7))),
    "lstm_lm": (lambda: RNNLM("lstm"), lambda: torch.randint(0, 28, (2, 7))),
    "transformer": (TransformerEncoderModel, lambda: torch.randint(0, 50, (2, 9))),
    "vit": (ViT, lambda: torch.randn(2, 3, 32, 32)),
}
