using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using XModHub.Core;

namespace XModHub.Plugins.Storage.FileSystem;

public sealed class FileSystemStorageOptions
{
    /// <summary>Root folder of the package files.</summary>
    public string Path { get; set; } = "";
}

/// <summary>Package files on the local file system; writes go to a temporary file and are renamed into place.</summary>
public sealed partial class FileSystemStorage(FileSystemStorageOptions options) : IBlobStorage
{
    private readonly string _root = System.IO.Path.GetFullPath(options.Path);

    private string Resolve(string path)
    {
        var full = System.IO.Path.GetFullPath(System.IO.Path.Combine(_root, path));
        if (!full.StartsWith(_root + System.IO.Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new ArgumentException($"storage path '{path}' leaves the storage root");
        }
        return full;
    }

    public Task<Stream?> GetAsync(string path, CancellationToken cancel)
    {
        var full = Resolve(path);
        return Task.FromResult<Stream?>(File.Exists(full) ? new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan) : null);
    }

    public async Task<PutResult> PutAsync(string path, Stream content, bool overwrite, CancellationToken cancel)
    {
        var full = Resolve(path);
        if (!overwrite && File.Exists(full))
        {
            return PutResult.AlreadyExists;
        }
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        var temp = $"{full}.{Guid.NewGuid():N}.tmp";
        try
        {
            await using (var target = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            {
                await content.CopyToAsync(target, cancel);
                await target.FlushAsync(cancel);
                target.Flush(flushToDisk: true);
            }
            try
            {
                File.Move(temp, full, overwrite);
            }
            catch (IOException) when (!overwrite && File.Exists(full))
            {
                return PutResult.AlreadyExists;
            }
            return PutResult.Success;
        }
        finally
        {
            File.Delete(temp);
        }
    }

    public Task<bool> DeleteAsync(string path, CancellationToken cancel)
    {
        var full = Resolve(path);
        var existed = File.Exists(full);
        File.Delete(full);
        return Task.FromResult(existed);
    }
}

public static class FileSystemStorageExtensions
{
    /// <summary>Registers file-system storage from a configuration section (Storage:Path).</summary>
    public static IServiceCollection AddFileSystemStorage(this IServiceCollection services, IConfiguration section)
    {
        var options = section.Get<FileSystemStorageOptions>() ?? new FileSystemStorageOptions();
        if (string.IsNullOrWhiteSpace(options.Path))
        {
            throw new XMod.XModException("Storage:Path is required for the FileSystem storage");
        }
        Directory.CreateDirectory(options.Path);
        return services.AddSingleton<IBlobStorage>(new FileSystemStorage(options));
    }
}
