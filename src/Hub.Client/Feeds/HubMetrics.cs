using System.Globalization;
using System.Text.Json;

namespace XModHub.Client.Feeds;

/// <summary>The hub's measurement of a package (its evaluator, on the standard set).</summary>
public sealed record MeasuredMetric(double Perplexity, double? Top1, double? Top5, string EvalSet, string DataSha256, string EvaluatorVersion);

/// <summary>
/// A package's metrics as an XModHub shows them: what the hub measured and what the publisher
/// reported, kept apart (a plain NuGet feed has neither).
/// </summary>
public sealed record HubMetrics(MeasuredMetric? Measured, double? ReportedPerplexity)
{
    /// <summary>Reads "xmodMeasured"/"xmodReported" (search) or "measured"/"reported" (package API); null when there are none.</summary>
    public static HubMetrics? From(JsonElement e, string measuredName = "xmodMeasured", string reportedName = "xmodReported")
    {
        MeasuredMetric? measured = null;
        if (e.TryGetProperty(measuredName, out var m) && m.ValueKind == JsonValueKind.Object && Number(m, "perplexity") is { } ppl)
        {
            measured = new MeasuredMetric(ppl, Number(m, "fill_mask_top1"), Number(m, "fill_mask_top5"), Text(m, "eval_set"), Text(m, "data_sha256"), Text(m, "evaluator_version"));
        }
        var reported = e.TryGetProperty(reportedName, out var r) && r.ValueKind == JsonValueKind.Object ? Number(r, "heldout_perplexity") : null;
        return measured is null && reported is null ? null : new HubMetrics(measured, reported);
    }

    private static double? Number(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out var d) && double.IsFinite(d) ? d : null;

    /// <summary>A string from a feed, made printable (a hostile hub's control characters would drive the terminal).</summary>
    private static string Text(JsonElement e, string name)
    {
        var s = e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() ?? "" : "";
        s = new string(s.Where(c => !char.IsControl(c)).Take(80).ToArray());
        return s.Length == 0 ? "?" : s;
    }

    /// <summary>One line, each number labelled with its source: "perplexity 85.3 measured by the hub (...) · 1.5 reported by the publisher".</summary>
    public string Describe()
    {
        var inv = CultureInfo.InvariantCulture;
        var parts = new List<string>();
        if (Measured is { } m)
        {
            var accuracy = m.Top1 is { } t1 && m.Top5 is { } t5 ? string.Format(inv, ", fill-mask top-1 {0:F1}% top-5 {1:F1}%", 100 * t1, 100 * t5) : "";
            parts.Add(string.Format(inv, "perplexity {0:F2}{1} measured by the hub ({2}, data {3}, evaluator {4})",
                m.Perplexity, accuracy, m.EvalSet, m.DataSha256.Length > 12 ? m.DataSha256[..12] + "…" : m.DataSha256, m.EvaluatorVersion));
        }
        else
        {
            parts.Add("not measured by the hub yet");
        }
        if (ReportedPerplexity is { } r)
        {
            parts.Add(string.Format(inv, "perplexity {0:F2} reported by the publisher (its own held-out text, not verified)", r));
        }
        return string.Join(" · ", parts);
    }
}
