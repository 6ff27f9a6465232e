using XMod.Tensors;
using XMod.Training.Distributed;

namespace XMod.Training.Tests;

/// <summary>--device: the CPU trains; CUDA is refused with one line that names what is missing.</summary>
public sealed class TrainingDeviceTests
{
    [Fact]
    public void TheCpuIsAccepted() => Assert.Equal(Device.Cpu, TrainingDevice.Resolve(" CPU "));

    [Fact]
    public void CudaOnThisMachineIsRefusedInOneLine()
    {
        // This machine: whatever its libtorch, the refusal is one line starting with the option.
        var e = Assert.Throws<XModException>(() => TrainingDevice.Resolve("cuda"));
        Assert.StartsWith("--device cuda: ", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        if (!TrainingDevice.IsCudaBuild(Torch.CudaDeviceCount))
        {
            Assert.Contains("built against a CPU-only libtorch", e.Message);
            Assert.Contains("LIBTORCH_DIR=", e.Message);
        }
    }

    [Theory]
    [InlineData("cuda", false, 0, "built against a CPU-only libtorch")]
    [InlineData("cuda", true, 0, "no CUDA device is visible")]
    [InlineData("cuda:2", true, 2, "only 2 CUDA device(s) are visible (cuda:0 to cuda:1)")]
    [InlineData("cuda:0", true, 1, "training on CUDA is not supported by this version")]
    public void EachMissingPieceHasItsOwnLine(string device, bool cudaBuild, int devices, string expected)
    {
        var e = Assert.Throws<XModException>(() => TrainingDevice.Resolve(device, cudaBuild, devices));
        Assert.Contains(expected, e.Message);
        Assert.StartsWith($"--device {device}: ", e.Message);
    }

    [Theory]
    [InlineData("tpu")]
    [InlineData("cuda:-1")]
    [InlineData("cuda:x")]
    [InlineData("")]
    [InlineData("cpu\n--force")]
    public void AnUnknownDeviceIsOneLine(string device)
    {
        var e = Assert.Throws<XModException>(() => TrainingDevice.Resolve(device));
        Assert.StartsWith("unknown device", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }
}
