using System.Diagnostics;

namespace XMod.Training.Corpora;

/// <summary>Debian and npm packages that corpora come from, installed on demand.</summary>
public static class SystemPackages
{
    public static bool IsInstalled(string package) =>
        Run("dpkg-query", ["-W", "-f=${Status}", package], out var output) == 0 && output.Contains("install ok installed", StringComparison.Ordinal);

    /// <summary>Installs missing Debian packages (as root), or fails naming the command to run.</summary>
    public static void EnsureDebian(IReadOnlyCollection<string> packages, Action<string> log)
    {
        var missing = packages.Where(p => !IsInstalled(p)).ToList();
        if (missing.Count == 0)
        {
            return;
        }
        var command = $"apt-get install -y --no-install-recommends {string.Join(' ', missing)}";
        if (Environment.UserName != "root")
        {
            throw new XModException($"missing Debian packages {string.Join(", ", missing)}: run 'sudo {command}'");
        }
        log($"installing {string.Join(' ', missing)} (apt)");
        if (Run("apt-get", ["install", "-y", "-q", "--no-install-recommends", .. missing], out _) != 0)
        {
            Run("apt-get", ["update", "-q"], out _);
            if (Run("apt-get", ["install", "-y", "-q", "--no-install-recommends", .. missing], out var err) != 0)
            {
                throw new XModException($"'{command}' failed: {err.Trim().Split('\n').LastOrDefault()}");
            }
        }
    }

    /// <summary>Files a Debian package installed (dpkg -L), so a corpus does not depend on what else is on the machine.</summary>
    public static IReadOnlyList<string> Files(string package)
    {
        if (Run("dpkg", ["-L", package], out var output) != 0)
        {
            throw new XModException($"Debian package {package} is not installed");
        }
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    /// <summary>
    /// Fetches an npm package's tarball into <paramref name="cacheDir"/> (once) and unpacks it;
    /// returns the unpacked package folder.
    /// </summary>
    public static string NpmPackage(string name, string version, string cacheDir, Action<string> log)
    {
        var target = Path.Combine(cacheDir, $"{name}-{version}");
        if (File.Exists(Path.Combine(target, "package", "package.json")))
        {
            return Path.Combine(target, "package");
        }
        Directory.CreateDirectory(cacheDir);
        var temp = Path.Combine(cacheDir, $".{name}-{version}.{Guid.NewGuid():N}");
        Directory.CreateDirectory(temp);
        try
        {
            log($"fetching npm package {name}@{version}");
            if (Run("npm", ["pack", $"{name}@{version}", "--pack-destination", temp, "--silent"], out var err) != 0)
            {
                throw new XModException($"npm pack {name}@{version} failed: {err.Trim().Split('\n').LastOrDefault()}");
            }
            var tgz = Directory.GetFiles(temp, "*.tgz").Single();
            using (var file = File.OpenRead(tgz))
            using (var gz = new System.IO.Compression.GZipStream(file, System.IO.Compression.CompressionMode.Decompress))
            {
                System.Formats.Tar.TarFile.ExtractToDirectory(gz, temp, overwriteFiles: true);
            }
            File.Delete(tgz);
            if (Directory.Exists(target))
            {
                Directory.Delete(target, recursive: true);
            }
            Directory.Move(temp, target);
            return Path.Combine(target, "package");
        }
        finally
        {
            if (Directory.Exists(temp))
            {
                Directory.Delete(temp, recursive: true);
            }
        }
    }

    private static int Run(string exe, string[] args, out string output)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        try
        {
            using var p = Process.Start(psi)!;
            var stderr = p.StandardError.ReadToEndAsync();
            var stdout = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            output = p.ExitCode == 0 ? stdout : stderr.Result + stdout;
            return p.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            output = $"{exe} is not installed";
            return 127;
        }
    }
}
