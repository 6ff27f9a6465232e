using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;

namespace XMod.Training.Studies;

/// <summary>
/// Line and bar charts as self-contained SVG (no .NET plotting library restores here), turned into
/// PNG by headless Chromium when it is installed.
/// </summary>
public static class SvgChart
{
    public sealed record Point(double X, double Y, double Low, double High);

    public sealed record Series(string Name, IReadOnlyList<Point> Points);

    public sealed record BarSeries(string Name, IReadOnlyList<double> Values);

    public const int Width = 760;
    public const int Height = 460;
    private const int Left = 80, Right = 170, Top = 50, Bottom = 60;
    private static readonly string[] s_colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e"];
    private static readonly CultureInfo s_inv = CultureInfo.InvariantCulture;

    /// <summary>Lines with min-max error bars; x on a log2 axis when <paramref name="logX"/>.</summary>
    public static string Lines(string title, string xLabel, string yLabel, IReadOnlyList<Series> series, bool logX)
    {
        var xs = series.SelectMany(s => s.Points.Select(p => p.X)).Distinct().Order().ToList();
        double Fx(double x) => logX ? Math.Log2(x) : x;
        var (x0, x1) = (Fx(xs.Min()), Fx(xs.Max()));
        var (y0, y1) = Range(series.SelectMany(s => s.Points.SelectMany(p => new[] { p.Low, p.High, p.Y })));
        double Px(double x) => Left + (x1 == x0 ? 0.5 : (Fx(x) - x0) / (x1 - x0)) * (Width - Left - Right);
        double Py(double y) => Top + (1 - (y - y0) / (y1 - y0)) * (Height - Top - Bottom);
        var b = Frame(title, xLabel, yLabel, y0, y1, Py);
        foreach (var x in xs)
        {
            b.Append(s_inv, $"<text x=\"{Px(x):F1}\" y=\"{Height - Bottom + 18}\" text-anchor=\"middle\">{x}</text>");
        }
        for (var i = 0; i < series.Count; i++)
        {
            var c = s_colors[i % s_colors.Length];
            var pts = series[i].Points.OrderBy(p => p.X).ToList();
            b.Append(s_inv, $"<polyline fill=\"none\" stroke=\"{c}\" stroke-width=\"2.5\" points=\"{string.Join(' ', pts.Select(p => string.Create(s_inv, $"{Px(p.X):F1},{Py(p.Y):F1}")))}\"/>");
            foreach (var p in pts)
            {
                b.Append(s_inv, $"<line x1=\"{Px(p.X):F1}\" x2=\"{Px(p.X):F1}\" y1=\"{Py(p.Low):F1}\" y2=\"{Py(p.High):F1}\" stroke=\"{c}\" stroke-width=\"1.5\"/>");
                b.Append(s_inv, $"<circle cx=\"{Px(p.X):F1}\" cy=\"{Py(p.Y):F1}\" r=\"4\" fill=\"{c}\"/>");
            }
            Legend(b, i, series[i].Name, c);
        }
        return b.Append("</svg>\n").ToString();
    }

    /// <summary>Grouped bars, one group per category; an optional dashed baseline (e.g. the majority class).</summary>
    /// <param name="yRange">A fixed value axis (accuracy: 0 to 1), else one fitted to the values from 0.</param>
    public static string Bars(string title, string yLabel, IReadOnlyList<string> categories, IReadOnlyList<BarSeries> series, double? baseline = null,
        (double Low, double High)? yRange = null)
    {
        var values = series.SelectMany(s => s.Values).Append(baseline ?? 0).Append(0);
        var (y0, y1) = yRange ?? Range(values);
        y0 = Math.Min(0, y0);
        double Py(double y) => Top + (1 - (y - y0) / (y1 - y0)) * (Height - Top - Bottom);
        var b = Frame(title, "", yLabel, y0, y1, Py);
        var groupWidth = (Width - Left - Right) / (double)Math.Max(1, categories.Count);
        var barWidth = groupWidth * 0.8 / Math.Max(1, series.Count);
        for (var g = 0; g < categories.Count; g++)
        {
            var gx = Left + g * groupWidth + groupWidth * 0.1;
            b.Append(s_inv, $"<text x=\"{gx + groupWidth * 0.4:F1}\" y=\"{Height - Bottom + 18}\" text-anchor=\"middle\">{Escape(categories[g])}</text>");
            for (var i = 0; i < series.Count; i++)
            {
                var v = series[i].Values[g];
                var (top, bottom) = (Py(Math.Max(v, 0)), Py(Math.Min(v, 0)));
                b.Append(s_inv, $"<rect x=\"{gx + i * barWidth:F1}\" y=\"{top:F1}\" width=\"{barWidth - 2:F1}\" height=\"{Math.Max(0.5, bottom - top):F1}\" fill=\"{s_colors[i % s_colors.Length]}\"/>");
            }
        }
        for (var i = 0; i < series.Count; i++)
        {
            Legend(b, i, series[i].Name, s_colors[i % s_colors.Length]);
        }
        if (baseline is { } line)
        {
            b.Append(s_inv, $"<line x1=\"{Left}\" x2=\"{Width - Right}\" y1=\"{Py(line):F1}\" y2=\"{Py(line):F1}\" stroke=\"#555\" stroke-dasharray=\"6,4\"/>");
            Legend(b, series.Count, "majority class", "#555");
        }
        return b.Append("</svg>\n").ToString();
    }

    /// <summary>Writes NAME.svg and, where Chromium is installed, NAME.png beside it; returns the PNG's path or null.</summary>
    public static string? Save(string svg, string pathWithoutExtension)
    {
        var svgPath = pathWithoutExtension + ".svg";
        Packaging.AtomicFile.WriteAllText(svgPath, svg);
        var chromium = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists);
        if (chromium is null)
        {
            return null;
        }
        var png = pathWithoutExtension + ".png";
        var profile = Directory.CreateTempSubdirectory("xmod-chart-").FullName;
        try
        {
            var psi = new ProcessStartInfo(chromium) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var a in new[]
            {
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run",
                "--disable-sync", $"--user-data-dir={profile}", "--hide-scrollbars", $"--window-size={Width},{Height}", $"--screenshot={png}",
                new Uri(Path.GetFullPath(svgPath)).AbsoluteUri,
            })
            {
                psi.ArgumentList.Add(a);
            }
            using var p = Process.Start(psi)!;
            _ = p.StandardOutput.ReadToEndAsync();
            _ = p.StandardError.ReadToEndAsync();
            return p.WaitForExit(TimeSpan.FromSeconds(60)) && p.ExitCode == 0 && File.Exists(png) ? png : null;
        }
        finally
        {
            Directory.Delete(profile, recursive: true);
        }
    }

    private static StringBuilder Frame(string title, string xLabel, string yLabel, double y0, double y1, Func<double, double> py)
    {
        var b = new StringBuilder();
        b.Append(s_inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" font-family=\"DejaVu Sans, sans-serif\" font-size=\"13\">");
        b.Append(s_inv, $"<rect width=\"{Width}\" height=\"{Height}\" fill=\"white\"/>");
        b.Append(s_inv, $"<text x=\"{Width / 2}\" y=\"26\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">{Escape(title)}</text>");
        for (var k = 0; k <= 5; k++)
        {
            var y = y0 + (y1 - y0) * k / 5;
            b.Append(s_inv, $"<line x1=\"{Left}\" x2=\"{Width - Right}\" y1=\"{py(y):F1}\" y2=\"{py(y):F1}\" stroke=\"#e5e5e5\"/>");
            b.Append(s_inv, $"<text x=\"{Left - 8}\" y=\"{py(y) + 4:F1}\" text-anchor=\"end\">{Tick(y, y1 - y0)}</text>");
        }
        b.Append(s_inv, $"<line x1=\"{Left}\" x2=\"{Left}\" y1=\"{Top}\" y2=\"{Height - Bottom}\" stroke=\"#333\"/>");
        b.Append(s_inv, $"<line x1=\"{Left}\" x2=\"{Width - Right}\" y1=\"{Height - Bottom}\" y2=\"{Height - Bottom}\" stroke=\"#333\"/>");
        b.Append(s_inv, $"<text x=\"{(Left + Width - Right) / 2}\" y=\"{Height - 16}\" text-anchor=\"middle\">{Escape(xLabel)}</text>");
        b.Append(s_inv, $"<text transform=\"translate(20,{(Top + Height - Bottom) / 2}) rotate(-90)\" text-anchor=\"middle\">{Escape(yLabel)}</text>");
        return b;
    }

    private static void Legend(StringBuilder b, int i, string name, string color)
    {
        var y = Top + 10 + i * 22;
        b.Append(s_inv, $"<rect x=\"{Width - Right + 16}\" y=\"{y - 10}\" width=\"14\" height=\"14\" fill=\"{color}\"/>");
        b.Append(s_inv, $"<text x=\"{Width - Right + 36}\" y=\"{y + 2}\">{Escape(name)}</text>");
    }

    /// <summary>An axis range with a little room around the data.</summary>
    private static (double Low, double High) Range(IEnumerable<double> values)
    {
        var v = values.Where(double.IsFinite).ToList();
        if (v.Count == 0)
        {
            return (0, 1);
        }
        var (lo, hi) = (v.Min(), v.Max());
        var pad = hi > lo ? (hi - lo) * 0.08 : Math.Max(1e-3, Math.Abs(hi) * 0.1);
        return (lo - pad, hi + pad);
    }

    private static string Tick(double y, double span) =>
        span >= 10 ? y.ToString("F0", s_inv) : span >= 1 ? y.ToString("F1", s_inv) : y.ToString("F2", s_inv);

    private static string Escape(string s) => WebUtility.HtmlEncode(s);
}
