using XMod.Tensors;

namespace XMod.Training.Distributed;

/// <summary>
/// The device a training command was asked for (--device). Training runs on the CPU (each rank a
/// process, Gloo between them). CUDA is refused with the one line that says what is missing: a
/// libxmod_native built against a CUDA libtorch, a visible device, and then the model itself,
/// whose tensors do not move to a GPU in this version (the CUDA build path is documented in the
/// README, "GPU build", and was not run on a GPU in this project's tests).
/// </summary>
public static class TrainingDevice
{
    /// <param name="text">cpu, cuda or cuda:N.</param>
    /// <param name="cudaBuild">Whether the libtorch has CUDA; null asks the loaded one.</param>
    /// <param name="cudaDevices">CUDA devices visible; null asks the loaded libtorch.</param>
    public static Device Resolve(string text, bool? cudaBuild = null, int? cudaDevices = null)
    {
        if (text.Length > 32 || text.Any(char.IsControl))
        {
            throw new XModException("unknown device (not shown: too long or with control characters): use cpu, cuda or cuda:N");
        }
        var device = Device.Parse(text);
        var shown = text.Trim();
        if (device.Type == DeviceType.Cpu)
        {
            return device;
        }
        var devices = cudaDevices ?? Torch.CudaDeviceCount;
        if (!(cudaBuild ?? IsCudaBuild(devices)))
        {
            throw new XModException($"--device {shown}: this libxmod_native was built against a CPU-only libtorch; on a GPU machine build it with " +
                "LIBTORCH_DIR=/path/to/cuda/libtorch (README, 'GPU build'), or train on the CPU (--device cpu)");
        }
        if (devices == 0)
        {
            throw new XModException($"--device {shown}: the libtorch has CUDA but no CUDA device is visible (check nvidia-smi and CUDA_VISIBLE_DEVICES), or train on the CPU (--device cpu)");
        }
        if (device.Index >= devices)
        {
            throw new XModException($"--device {shown}: only {devices} CUDA device(s) are visible (cuda:0 to cuda:{devices - 1})");
        }
        throw new XModException($"--device {shown}: training on CUDA is not supported by this version (the model's tensors stay on the CPU); train on the CPU (--device cpu)");
    }

    /// <summary>Whether the loaded libtorch was built with CUDA (its configuration says so, or it sees a device).</summary>
    public static bool IsCudaBuild(int devices)
    {
        var config = Torch.BuildConfig;
        return devices > 0 || config.Contains("CUDA Runtime", StringComparison.Ordinal) || config.Contains("USE_CUDA=ON", StringComparison.Ordinal);
    }
}
