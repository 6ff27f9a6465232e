namespace XMod.Tensors;

// Typed operators. Each resolves its ATen schema once (Ops below) and calls it through the boxed
// dispatcher; autograd follows from the dispatcher, not from code here.
public sealed partial class Tensor
{
    private static class Ops
    {
        public static readonly AtenOp Add = new("aten::add", "Tensor");
        public static readonly AtenOp AddScalar = new("aten::add", "Scalar");
        public static readonly AtenOp Sub = new("aten::sub", "Tensor");
        public static readonly AtenOp Mul = new("aten::mul", "Tensor");
        public static readonly AtenOp MulScalar = new("aten::mul", "Scalar");
        public static readonly AtenOp Div = new("aten::div", "Tensor");
        public static readonly AtenOp DivScalar = new("aten::div", "Scalar");
        public static readonly AtenOp Neg = new("aten::neg");
        public static readonly AtenOp Exp = new("aten::exp");
        public static readonly AtenOp Log = new("aten::log");
        public static readonly AtenOp Sqrt = new("aten::sqrt");
        public static readonly AtenOp Rsqrt = new("aten::rsqrt");
        public static readonly AtenOp Pow = new("aten::pow", "Tensor_Scalar");
        public static readonly AtenOp Tanh = new("aten::tanh");
        public static readonly AtenOp Sigmoid = new("aten::sigmoid");
        public static readonly AtenOp Relu = new("aten::relu");
        public static readonly AtenOp Gelu = new("aten::gelu");
        public static readonly AtenOp Abs = new("aten::abs");
        public static readonly AtenOp Clamp = new("aten::clamp");
        public static readonly AtenOp Where = new("aten::where", "self");
        public static readonly AtenOp Eq = new("aten::eq", "Tensor");
        public static readonly AtenOp EqScalar = new("aten::eq", "Scalar");
        public static readonly AtenOp NeScalar = new("aten::ne", "Scalar");
        public static readonly AtenOp LtScalar = new("aten::lt", "Scalar");
        public static readonly AtenOp GtScalar = new("aten::gt", "Scalar");
        public static readonly AtenOp LogicalNot = new("aten::logical_not");
        public static readonly AtenOp LogicalAnd = new("aten::logical_and");
        public static readonly AtenOp Sum = new("aten::sum");
        public static readonly AtenOp SumDim = new("aten::sum", "dim_IntList");
        public static readonly AtenOp Mean = new("aten::mean");
        public static readonly AtenOp MeanDim = new("aten::mean", "dim");
        public static readonly AtenOp MaxDim = new("aten::max", "dim");
        public static readonly AtenOp Argmax = new("aten::argmax");
        public static readonly AtenOp TopK = new("aten::topk");
        public static readonly AtenOp Sort = new("aten::sort");
        public static readonly AtenOp CumSum = new("aten::cumsum");
        public static readonly AtenOp View = new("aten::view");
        public static readonly AtenOp Reshape = new("aten::reshape");
        public static readonly AtenOp Transpose = new("aten::transpose", "int");
        public static readonly AtenOp Permute = new("aten::permute");
        public static readonly AtenOp Contiguous = new("aten::contiguous");
        public static readonly AtenOp Unsqueeze = new("aten::unsqueeze");
        public static readonly AtenOp Squeeze = new("aten::squeeze", "dim");
        public static readonly AtenOp Flatten = new("aten::flatten", "using_ints");
        public static readonly AtenOp Expand = new("aten::expand");
        public static readonly AtenOp Narrow = new("aten::narrow");
        public static readonly AtenOp Select = new("aten::select", "int");
        public static readonly AtenOp IndexSelect = new("aten::index_select");
        public static readonly AtenOp Gather = new("aten::gather");
        public static readonly AtenOp MaskedFill = new("aten::masked_fill", "Scalar");
        public static readonly AtenOp Split = new("aten::split", "Tensor");
        public static readonly AtenOp Chunk = new("aten::chunk");
        public static readonly AtenOp Matmul = new("aten::matmul");
        public static readonly AtenOp Clone = new("aten::clone");
        public static readonly AtenOp Detach = new("aten::detach");
        public static readonly AtenOp AddInPlace = new("aten::add_", "Tensor");
        public static readonly AtenOp MulInPlace = new("aten::mul_", "Scalar");
        public static readonly AtenOp ZeroInPlace = new("aten::zero_");
        public static readonly AtenOp FillInPlace = new("aten::fill_", "Scalar");
        public static readonly AtenOp CopyInPlace = new("aten::copy_");
        public static readonly AtenOp UniformInPlace = new("aten::uniform_");
        public static readonly AtenOp NormalInPlace = new("aten::normal_");
        public static readonly AtenOp MaskedFillInPlace = new("aten::masked_fill_", "Scalar");
    }

    private Tensor Unary(AtenOp op) => op.Call([Arg.T(this)], this);

    private Tensor Binary(AtenOp op, Tensor other) => op.Call([Arg.T(this), Arg.T(other)], this, other);

    private Tensor WithScalar(AtenOp op, double value) => op.Call([Arg.T(this), Arg.D(value)], this);

    // ---- element-wise -----------------------------------------------------------------------

    public Tensor Add(Tensor other, double alpha = 1) => Ops.Add.Call([Arg.T(this), Arg.T(other), Arg.D(alpha)], this, other);

    public Tensor Add(double value) => WithScalar(Ops.AddScalar, value);

    /// <summary>Adds an integer scalar (keeps integer tensors integer; a double would promote them).</summary>
    public Tensor Add(long value) => Ops.AddScalar.Call([Arg.T(this), Arg.I(value)], this);

    public Tensor Sub(Tensor other, double alpha = 1) => Ops.Sub.Call([Arg.T(this), Arg.T(other), Arg.D(alpha)], this, other);

    public Tensor Sub(double value) => WithScalar(Ops.AddScalar, -value);

    public Tensor Mul(Tensor other) => Binary(Ops.Mul, other);

    public Tensor Mul(double value) => WithScalar(Ops.MulScalar, value);

    public Tensor Div(Tensor other) => Binary(Ops.Div, other);

    public Tensor Div(double value) => WithScalar(Ops.DivScalar, value);

    public Tensor Neg() => Unary(Ops.Neg);

    public Tensor Exp() => Unary(Ops.Exp);

    public Tensor Log() => Unary(Ops.Log);

    public Tensor Sqrt() => Unary(Ops.Sqrt);

    public Tensor Rsqrt() => Unary(Ops.Rsqrt);

    public Tensor Pow(double exponent) => WithScalar(Ops.Pow, exponent);

    public Tensor Tanh() => Unary(Ops.Tanh);

    public Tensor Sigmoid() => Unary(Ops.Sigmoid);

    public Tensor Relu() => Unary(Ops.Relu);

    /// <summary>GELU: the exact erf form by default (as X-MOD uses), or the tanh approximation.</summary>
    public unsafe Tensor Gelu(bool tanhApproximation = false)
    {
        fixed (byte* mode = tanhApproximation ? "tanh\0"u8 : "none\0"u8)
        {
            return Ops.Gelu.Call([Arg.T(this), Arg.Str(mode)], this);
        }
    }

    public Tensor Abs() => Unary(Ops.Abs);

    public Tensor Clamp(double? min = null, double? max = null) =>
        Ops.Clamp.Call([Arg.T(this), min is { } lo ? Arg.D(lo) : Arg.None, max is { } hi ? Arg.D(hi) : Arg.None], this);

    /// <summary>Element-wise <c>condition ? this : other</c>.</summary>
    public Tensor Where(Tensor condition, Tensor other) =>
        Ops.Where.Call([Arg.T(condition), Arg.T(this), Arg.T(other)], condition, this, other);

    public Tensor Eq(Tensor other) => Binary(Ops.Eq, other);

    public Tensor Eq(double value) => WithScalar(Ops.EqScalar, value);

    public Tensor Ne(double value) => WithScalar(Ops.NeScalar, value);

    public Tensor Lt(double value) => WithScalar(Ops.LtScalar, value);

    public Tensor Gt(double value) => WithScalar(Ops.GtScalar, value);

    public Tensor LogicalNot() => Unary(Ops.LogicalNot);

    public Tensor LogicalAnd(Tensor other) => Binary(Ops.LogicalAnd, other);

    public static Tensor operator +(Tensor a, Tensor b) => a.Add(b);

    public static Tensor operator +(Tensor a, double b) => a.Add(b);

    public static Tensor operator -(Tensor a, Tensor b) => a.Sub(b);

    public static Tensor operator -(Tensor a, double b) => a.Sub(b);

    public static Tensor operator -(Tensor a) => a.Neg();

    public static Tensor operator *(Tensor a, Tensor b) => a.Mul(b);

    public static Tensor operator *(Tensor a, double b) => a.Mul(b);

    public static Tensor operator *(double a, Tensor b) => b.Mul(a);

    public static Tensor operator /(Tensor a, Tensor b) => a.Div(b);

    public static Tensor operator /(Tensor a, double b) => a.Div(b);

    // ---- reductions -------------------------------------------------------------------------

    public Tensor Sum(DType? dtype = null) => Ops.Sum.Call([Arg.T(this), Arg.OptDType(dtype)], this);

    public unsafe Tensor Sum(int dim, bool keepDim = false)
    {
        long d = dim;
        return Ops.SumDim.Call([Arg.T(this), Arg.Ints(&d, 1), Arg.B(keepDim)], this);
    }

    public Tensor Mean() => Unary(Ops.Mean);

    public unsafe Tensor Mean(int dim, bool keepDim = false)
    {
        long d = dim;
        return Ops.MeanDim.Call([Arg.T(this), Arg.Ints(&d, 1), Arg.B(keepDim)], this);
    }

    public (Tensor Values, Tensor Indices) Max(int dim, bool keepDim = false)
    {
        var r = Ops.MaxDim.CallMany([Arg.T(this), Arg.I(dim), Arg.B(keepDim)], 2, this);
        return (r[0], r[1]);
    }

    public Tensor Argmax(int dim, bool keepDim = false) => Ops.Argmax.Call([Arg.T(this), Arg.I(dim), Arg.B(keepDim)], this);

    public (Tensor Values, Tensor Indices) TopK(int k, int dim = -1, bool largest = true, bool sorted = true)
    {
        var r = Ops.TopK.CallMany([Arg.T(this), Arg.I(k), Arg.I(dim), Arg.B(largest), Arg.B(sorted)], 2, this);
        return (r[0], r[1]);
    }

    public (Tensor Values, Tensor Indices) Sort(int dim = -1, bool descending = false)
    {
        var r = Ops.Sort.CallMany([Arg.T(this), Arg.I(dim), Arg.B(descending)], 2, this);
        return (r[0], r[1]);
    }

    public Tensor CumSum(int dim) => Ops.CumSum.Call([Arg.T(this), Arg.I(dim)], this);

    // ---- shape ------------------------------------------------------------------------------

    /// <summary>A view with a new shape (one dimension may be -1); needs compatible strides.</summary>
    public unsafe Tensor View(params long[] shape)
    {
        fixed (long* s = shape)
        {
            return Ops.View.Call([Arg.T(this), Arg.Ints(s, shape.Length)], this);
        }
    }

    /// <summary>Like <see cref="View"/>, copying when the strides do not allow a view.</summary>
    public unsafe Tensor Reshape(params long[] shape)
    {
        fixed (long* s = shape)
        {
            return Ops.Reshape.Call([Arg.T(this), Arg.Ints(s, shape.Length)], this);
        }
    }

    public Tensor Transpose(int dim0, int dim1) => Ops.Transpose.Call([Arg.T(this), Arg.I(dim0), Arg.I(dim1)], this);

    public unsafe Tensor Permute(params long[] dims)
    {
        fixed (long* d = dims)
        {
            return Ops.Permute.Call([Arg.T(this), Arg.Ints(d, dims.Length)], this);
        }
    }

    public Tensor Contiguous() => Unary(Ops.Contiguous);

    public Tensor Unsqueeze(int dim) => Ops.Unsqueeze.Call([Arg.T(this), Arg.I(dim)], this);

    public Tensor Squeeze(int dim) => Ops.Squeeze.Call([Arg.T(this), Arg.I(dim)], this);

    public Tensor Flatten(int startDim = 0, int endDim = -1) =>
        Ops.Flatten.Call([Arg.T(this), Arg.I(startDim), Arg.I(endDim)], this);

    public unsafe Tensor Expand(params long[] shape)
    {
        fixed (long* s = shape)
        {
            return Ops.Expand.Call([Arg.T(this), Arg.Ints(s, shape.Length)], this);
        }
    }

    public Tensor Narrow(int dim, long start, long length) =>
        Ops.Narrow.Call([Arg.T(this), Arg.I(dim), Arg.I(start), Arg.I(length)], this);

    public Tensor Select(int dim, long index) => Ops.Select.Call([Arg.T(this), Arg.I(dim), Arg.I(index)], this);

    public Tensor IndexSelect(int dim, Tensor index) =>
        Ops.IndexSelect.Call([Arg.T(this), Arg.I(dim), Arg.T(index)], this, index);

    public Tensor Gather(int dim, Tensor index) => Ops.Gather.Call([Arg.T(this), Arg.I(dim), Arg.T(index)], this, index);

    public Tensor MaskedFill(Tensor mask, double value) =>
        Ops.MaskedFill.Call([Arg.T(this), Arg.T(mask), Arg.D(value)], this, mask);

    /// <summary>Chunks of <paramref name="splitSize"/> along a dimension (the last may be smaller).</summary>
    public Tensor[] Split(long splitSize, int dim = 0)
    {
        if (splitSize <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(splitSize), splitSize, "split size must be positive");
        }
        var pieces = (int)Math.Max(1, (Size(dim) + splitSize - 1) / splitSize);
        return Ops.Split.CallMany([Arg.T(this), Arg.I(splitSize), Arg.I(dim)], pieces, this);
    }

    public Tensor[] Chunk(int chunks, int dim = 0) =>
        Ops.Chunk.CallMany([Arg.T(this), Arg.I(chunks), Arg.I(dim)], Math.Max(chunks, 1), this);

    // ---- linear algebra and copies ----------------------------------------------------------

    public Tensor Matmul(Tensor other) => Binary(Ops.Matmul, other);

    public Tensor Clone() => Unary(Ops.Clone);

    /// <summary>A view that shares data but not autograd history.</summary>
    public Tensor Detach() => Unary(Ops.Detach);

    // ---- in place (return this) -------------------------------------------------------------

    public Tensor AddInPlace(Tensor other, double alpha = 1)
    {
        Ops.AddInPlace.CallInPlace([Arg.T(this), Arg.T(other), Arg.D(alpha)], this, other);
        return this;
    }

    public Tensor MulInPlace(double value)
    {
        Ops.MulInPlace.CallInPlace([Arg.T(this), Arg.D(value)], this);
        return this;
    }

    public Tensor ZeroInPlace()
    {
        Ops.ZeroInPlace.CallInPlace([Arg.T(this)], this);
        return this;
    }

    public Tensor FillInPlace(double value)
    {
        Ops.FillInPlace.CallInPlace([Arg.T(this), Arg.D(value)], this);
        return this;
    }

    public Tensor CopyInPlace(Tensor source)
    {
        Ops.CopyInPlace.CallInPlace([Arg.T(this), Arg.T(source)], this, source);
        return this;
    }

    public Tensor UniformInPlace(double from = 0, double to = 1)
    {
        Ops.UniformInPlace.CallInPlace([Arg.T(this), Arg.D(from), Arg.D(to)], this);
        return this;
    }

    public Tensor NormalInPlace(double mean = 0, double std = 1)
    {
        Ops.NormalInPlace.CallInPlace([Arg.T(this), Arg.D(mean), Arg.D(std)], this);
        return this;
    }

    public Tensor MaskedFillInPlace(Tensor mask, double value)
    {
        Ops.MaskedFillInPlace.CallInPlace([Arg.T(this), Arg.T(mask), Arg.D(value)], this, mask);
        return this;
    }
}
