namespace XMod.Tensors;

/// <summary>c10::DeviceType codes.</summary>
public enum DeviceType
{
    Cpu = 0,
    Cuda = 1,
}

/// <summary>A device as libtorch names it: "cpu", "cuda", "cuda:1".</summary>
public readonly record struct Device(DeviceType Type, int Index = -1)
{
    public static readonly Device Cpu = new(DeviceType.Cpu);

    public static Device Cuda(int index = 0) => new(DeviceType.Cuda, index);

    public static Device Parse(string text)
    {
        var s = text.Trim().ToLowerInvariant();
        if (s == "cpu")
        {
            return Cpu;
        }
        if (s == "cuda")
        {
            return Cuda();
        }
        if (s.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(s.AsSpan(5), out var index) && index >= 0)
        {
            return Cuda(index);
        }
        throw new XModException($"unknown device '{text}': use cpu, cuda or cuda:N");
    }

    public override string ToString() =>
        Type == DeviceType.Cpu ? "cpu" : Index < 0 ? "cuda" : $"cuda:{Index}";
}
