using System.Text.Json;
using XModHub.Core;
using XModHub.Core.Evaluations;

namespace XModHub.Server;

/// <summary>
/// The evaluator's routes: its work queue and its results (an evaluate-scoped key), re-evaluation
/// requests (owners, admins), and every evaluation of a package (anyone). No route edits or deletes
/// an evaluation: a new one supersedes it.
/// </summary>
internal static class EvaluationRoutes
{
    public static void Map(WebApplication app)
    {
        app.MapPost("/api/evaluations", Post);
        app.MapGet("/api/evaluations/queue", Queue);
        app.MapPost("/api/packages/{id}/{version}/reevaluate", Reevaluate);
        app.MapGet("/api/packages/{id}/evaluations", History);
    }

    private static Task<ApiKeyRecord?> CallerAsync(HttpRequest r, ApiKeyService keys, CancellationToken cancel) =>
        keys.AuthenticateAsync(r.Headers["X-NuGet-ApiKey"].FirstOrDefault(), cancel);

    private static IResult Outcome(EvaluationOutcome o, Func<object> body) => o.Status switch
    {
        EvaluationStatus.Done => Results.Json(body()),
        EvaluationStatus.Invalid => Results.BadRequest(o.Message),
        EvaluationStatus.Unauthorized => Results.Text(o.Message, statusCode: StatusCodes.Status401Unauthorized),
        EvaluationStatus.Forbidden => Results.Text(o.Message, statusCode: StatusCodes.Status403Forbidden),
        _ => Results.NotFound(o.Message),
    };

    private static async Task<IResult> Post(HttpRequest r, ApiKeyService keys, EvaluationService service, CancellationToken cancel)
    {
        var caller = await CallerAsync(r, keys, cancel);
        if (caller is null || !caller.Scopes.Contains(EvaluationService.Scope))
        {
            // Refused before the body is read.
            return Outcome(await service.PostAsync(null!, caller, cancel), () => new { });
        }
        JsonElement body;
        try
        {
            using var doc = await JsonDocument.ParseAsync(r.Body, cancellationToken: cancel);
            body = doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            return Results.BadRequest($"the body is not valid JSON: {e.Message}");
        }
        catch (BadHttpRequestException e)
        {
            return Results.Text($"the body is larger than the {HubRoutes.JsonBodyLimit / 1024} KiB this endpoint takes", statusCode: e.StatusCode);
        }
        if (Parse(body) is not { } post)
        {
            return Results.BadRequest("the body must be {\"id\", \"version\", \"trunk_version\", \"language\", \"eval_set\", \"data_sha256\", \"evaluator_version\" (strings), \"metrics\": {name: number}}");
        }
        var outcome = await service.PostAsync(post, caller, cancel);
        return Outcome(outcome, () => Json(outcome.Evaluation!));
    }

    private static EvaluationPost? Parse(JsonElement b)
    {
        if (b.ValueKind != JsonValueKind.Object || !b.TryGetProperty("metrics", out var m) || m.ValueKind != JsonValueKind.Object)
        {
            return null;
        }
        string? S(string name) => b.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var p in m.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetDouble(out var d))
            {
                return null;
            }
            metrics[p.Name] = d;
        }
        return S("id") is { } id && S("version") is { } version && S("trunk_version") is { } tv && S("language") is { } lang
            && S("eval_set") is { } set && S("data_sha256") is { } sha && S("evaluator_version") is { } ev
            ? new EvaluationPost(id, version, tv, lang, set, sha, ev, metrics)
            : null;
    }

    private static async Task<IResult> Queue(HttpRequest r, ApiKeyService keys, EvaluationService service, CancellationToken cancel)
    {
        var caller = await CallerAsync(r, keys, cancel);
        if (caller is null)
        {
            return Results.Text("an evaluator key is required (X-NuGet-ApiKey)", statusCode: StatusCodes.Status401Unauthorized);
        }
        if (!caller.Scopes.Contains(EvaluationService.Scope) && !caller.Scopes.Contains(ApiKeyService.Admin))
        {
            return Results.Text("the queue is the evaluator's (a key with the evaluate scope)", statusCode: StatusCodes.Status403Forbidden);
        }
        var take = Math.Clamp(int.TryParse(r.Query["take"].FirstOrDefault(), out var t) ? t : 100, 1, 1000);
        try
        {
            var queue = await service.QueueAsync(r.Query["cursor"].FirstOrDefault(), take, cancel);
            return Results.Json(new
            {
                cursor = queue.Cursor,
                items = queue.Items.Select(w => new { reason = w.Reason, id = w.PackageId, version = w.PackageVersion, trunk = w.TrunkId, trunk_version = w.TrunkVersion, language = w.Language }),
            });
        }
        catch (FormatException e)
        {
            return Results.BadRequest(e.Message);
        }
    }

    private static async Task<IResult> Reevaluate(string id, string version, HttpRequest r, ApiKeyService keys, EvaluationService service, CancellationToken cancel)
    {
        var outcome = await service.RequestAsync(id, version, await CallerAsync(r, keys, cancel), cancel);
        return Outcome(outcome, () => new { message = outcome.Message, request = outcome.Request!.Sequence });
    }

    private static async Task<IResult> History(string id, EvaluationService service, CancellationToken cancel) =>
        Results.Json(new { id, evaluations = (await service.HistoryAsync(id, cancel)).Select(Json) });

    /// <summary>An evaluation as the API shows it: what was measured, on which data, by which evaluator.</summary>
    internal static Dictionary<string, object?> Json(EvaluationRecord e) => new()
    {
        ["source"] = "hub",
        ["sequence"] = e.Sequence,
        ["id"] = e.PackageId,
        ["version"] = e.PackageVersion,
        ["trunk"] = e.TrunkId,
        ["trunk_version"] = e.TrunkVersion,
        ["language"] = e.Language,
        ["eval_set"] = e.EvalSet,
        ["data_sha256"] = e.DataSha256,
        ["evaluator_version"] = e.EvaluatorVersion,
        ["evaluator"] = e.Evaluator,
        ["created"] = e.Created,
        ["metrics"] = e.Metrics,
    };
}
