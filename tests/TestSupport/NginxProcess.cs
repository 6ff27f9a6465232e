using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace XMod.TestSupport;

/// <summary>
/// Debian's nginx on a loopback port without root: config, pid, logs and temp files under one
/// folder, killed on dispose. Two shapes: a load balancer over hub instances (the several-instances
/// test and the hub-scale benchmark) and a static file server that also takes WebDAV PUTs (the
/// physical limit of a loopback transfer, hub-bigpkg's baseline). No xunit: bench/XMod.Bench
/// compiles this file in too.
/// </summary>
public sealed class NginxProcess : IDisposable
{
    public const string DefaultExe = "/usr/sbin/nginx";

    private readonly Process _process;

    private NginxProcess(Process process, int port) => (_process, Port) = (process, port);

    public int Port { get; }

    public string Address => $"http://127.0.0.1:{Port}";

    /// <summary>
    /// A reverse proxy over <paramref name="upstreamPorts"/> (round robin, keep-alive, bodies streamed
    /// both ways, a dead instance skipped), on <paramref name="port"/> when the hubs must know their
    /// public address before nginx starts, else on a free one.
    /// </summary>
    /// <param name="accelStorage">
    /// The hubs' Storage:Path when they run with Hub:AccelRedirectPrefix=<see cref="AccelPrefix"/>: nginx
    /// then serves their X-Accel-Redirect answers from that folder (the README's configuration).
    /// </param>
    public static Task<NginxProcess> StartProxyAsync(string root, IEnumerable<int> upstreamPorts, string exe = DefaultExe, int workers = 1, int? port = null,
        string? accelStorage = null)
    {
        var servers = string.Join(" ", upstreamPorts.Select(p => $"server 127.0.0.1:{p} max_fails=1 fail_timeout=30s;"));
        var accel = accelStorage is null ? "" : $$"""
                location {{AccelPrefix}} {
                  internal; alias {{accelStorage.TrimEnd('/')}}/;
                  sendfile on; tcp_nopush on; etag off; types { } default_type application/octet-stream;
                  add_header ETag $upstream_http_etag;
                }
            """;
        // The mark that asks the hubs to hand downloads to nginx (requests without it get the file from the hub).
        var accelMark = accelStorage is null ? "" : "proxy_set_header X-Sendfile-Type X-Accel-Redirect;";
        // user root: the worker must read the hubs' stored files when started as root.
        var user = accelStorage is not null && Environment.UserName == "root" ? "user root;" : "";
        return StartAsync(exe, root, port ?? FreePort(), listen => $$"""
            worker_processes {{workers}}; {{user}}
            events { worker_connections 1024; }
            http {
              access_log off; {{TempPaths(root)}}
              client_max_body_size 0;
              upstream hubs { {{servers}} keepalive 32; }
              server {
                listen 127.0.0.1:{{listen}};
                location / {
                  proxy_pass http://hubs; proxy_http_version 1.1; proxy_set_header Connection "";
                  proxy_request_buffering off; proxy_buffering off;
                  proxy_next_upstream error timeout; {{accelMark}}
                }
            {{accel}}
              }
            }
            """);
    }

    /// <summary>
    /// Serves <paramref name="file"/> (copied in, sendfile) at <see cref="StaticUrl"/> and takes PUTs
    /// (WebDAV, no checks) under <see cref="PutUrl"/>.
    /// </summary>
    public static Task<NginxProcess> StartStaticAsync(string root, string file, string exe = DefaultExe)
    {
        Directory.CreateDirectory(Path.Combine(root, "upload"));
        File.Copy(file, Path.Combine(root, "package.nupkg"), overwrite: true);
        // user root: the worker must read the copied file and write uploads when started as root.
        var user = Environment.UserName == "root" ? "user root;" : "";
        return StartAsync(exe, root, FreePort(), listen => $$"""
            worker_processes 1; {{user}}
            events { worker_connections 64; }
            http {
              access_log off; sendfile on; {{TempPaths(root)}}
              server {
                listen 127.0.0.1:{{listen}}; root {{root}};
                location /upload/ { dav_methods PUT; client_max_body_size 0; create_full_put_path on; }
              }
            }
            """);
    }

    /// <summary>The internal location of the X-Accel-Redirect configuration.</summary>
    public const string AccelPrefix = "/_stored/";

    public string StaticUrl => $"{Address}/package.nupkg";

    public string PutUrl(string name) => $"{Address}/upload/{name}";

    private static string TempPaths(string root) =>
        $"client_body_temp_path {root}/body; proxy_temp_path {root}/proxy; fastcgi_temp_path {root}/fastcgi; uwsgi_temp_path {root}/uwsgi; scgi_temp_path {root}/scgi;";

    private static async Task<NginxProcess> StartAsync(string exe, string root, int port, Func<int, string> http)
    {
        if (!File.Exists(exe))
        {
            throw new InvalidOperationException($"nginx is missing ({exe}): run scripts/install-deps (Debian: apt-get install nginx)");
        }
        Directory.CreateDirectory(root);
        var conf = Path.Combine(root, "nginx.conf");
        File.WriteAllText(conf, $"daemon off; pid {root}/nginx.pid; error_log {root}/error.log;\n" + http(port));
        var p = Process.Start(ProcessRunner.StartInfo(exe, ["-c", conf, "-p", root, "-e", Path.Combine(root, "error.log")]))!;
        _ = p.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
        var stderr = p.StandardError.ReadToEndAsync();
        var nginx = new NginxProcess(p, port);
        try
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (true)
            {
                if (p.HasExited)
                {
                    throw new InvalidOperationException($"nginx exited with {p.ExitCode}: {await stderr}");
                }
                try
                {
                    using var client = new TcpClient();
                    await client.ConnectAsync(IPAddress.Loopback, port);
                    return nginx;
                }
                catch (SocketException) when (DateTime.UtcNow < deadline)
                {
                    await Task.Delay(50);
                }
            }
        }
        catch
        {
            nginx.Dispose();
            throw;
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
        _process.WaitForExit();
        _process.Dispose();
    }
}
