namespace XMod.Tensors;

/// <summary>Neural-network operators (torch.nn.functional), called by name through the dispatcher.</summary>
public static class F
{
    private static readonly AtenOp s_linear = new("aten::linear");
    private static readonly AtenOp s_softmax = new("aten::softmax", "int");
    private static readonly AtenOp s_logSoftmax = new("aten::log_softmax", "int");
    private static readonly AtenOp s_layerNorm = new("aten::layer_norm");
    private static readonly AtenOp s_dropout = new("aten::dropout");
    private static readonly AtenOp s_embedding = new("aten::embedding");
    private static readonly AtenOp s_crossEntropy = new("aten::cross_entropy_loss");

    /// <summary>Reduction codes of ATen's loss functions.</summary>
    public enum Reduction
    {
        None = 0,
        Mean = 1,
        Sum = 2,
    }

    /// <summary>x W^T + b, x (..., in), W (out, in), b (out).</summary>
    public static Tensor Linear(Tensor input, Tensor weight, Tensor? bias = null) =>
        s_linear.Call([Arg.T(input), Arg.T(weight), Arg.OptT(bias)], input, weight, bias);

    public static Tensor Gelu(Tensor input) => input.Gelu();

    public static Tensor Softmax(Tensor input, int dim, DType? dtype = null) =>
        s_softmax.Call([Arg.T(input), Arg.I(dim), Arg.OptDType(dtype)], input);

    public static Tensor LogSoftmax(Tensor input, int dim, DType? dtype = null) =>
        s_logSoftmax.Call([Arg.T(input), Arg.I(dim), Arg.OptDType(dtype)], input);

    /// <summary>LayerNorm over the trailing dimensions given by <paramref name="normalizedShape"/>.</summary>
    public static unsafe Tensor LayerNorm(Tensor input, long[] normalizedShape, Tensor? weight, Tensor? bias, double eps)
    {
        fixed (long* s = normalizedShape)
        {
            return s_layerNorm.Call(
                [Arg.T(input), Arg.Ints(s, normalizedShape.Length), Arg.OptT(weight), Arg.OptT(bias), Arg.D(eps)],
                input, weight, bias);
        }
    }

    /// <summary>Inverted dropout; the identity when <paramref name="training"/> is false or p is 0.</summary>
    public static Tensor Dropout(Tensor input, double p, bool training)
    {
        if (p is < 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(p), p, "dropout probability must lie in [0, 1]");
        }
        return s_dropout.Call([Arg.T(input), Arg.D(p), Arg.B(training)], input);
    }

    /// <summary>Rows of <paramref name="weight"/> (V, H) for int64 <paramref name="ids"/>; padding rows get no gradient.</summary>
    public static Tensor Embedding(Tensor weight, Tensor ids, long paddingIndex = -1) =>
        s_embedding.Call([Arg.T(weight), Arg.T(ids), Arg.I(paddingIndex)], weight, ids);

    /// <summary>
    /// Cross-entropy of logits (N, C) against int64 targets (N); targets equal to
    /// <paramref name="ignoreIndex"/> contribute nothing (and are not counted in the mean).
    /// </summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor targets, long ignoreIndex = -100,
        Reduction reduction = Reduction.Mean, double labelSmoothing = 0) =>
        s_crossEntropy.Call(
            [Arg.T(logits), Arg.T(targets), Arg.None, Arg.I((long)reduction), Arg.I(ignoreIndex), Arg.D(labelSmoothing)],
            logits, targets);
}
