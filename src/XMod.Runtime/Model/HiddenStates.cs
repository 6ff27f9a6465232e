using XMod.Tensors;

namespace XMod.Runtime.Model;

public static class HiddenStates
{
    /// <summary>The last hidden state of one sequence of token ids: one row of H values per token (inference mode).</summary>
    public static float[][] LastHiddenState(this XModModel model, long[] ids, string language)
    {
        model.Training = false;
        using var scope = DisposeScope.Begin();
        using var inference = Torch.InferenceMode();
        var values = model.Encode(Tensor.From(ids, 1, ids.Length), null, [language]).ToArray<float>();
        var h = model.Config.HiddenSize;
        return Enumerable.Range(0, ids.Length).Select(t => values.AsSpan(t * h, h).ToArray()).ToArray();
    }
}
