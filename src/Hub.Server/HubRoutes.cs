using System.Text.Json;
using System.Text.Json.Nodes;
using NuGet.Versioning;
using XMod.Packaging.Manifests;
using XModHub.Core;

namespace XModHub.Server;

/// <summary>Every route of the hub. Endpoints parse, make one service call and map the result to a status.</summary>
public static class HubRoutes
{
    /// <summary>What every route but the push takes: JSON requests of a few kilobytes.</summary>
    public const long JsonBodyLimit = 64 << 10;

    private const string PushPath = "/api/v2/package";

    /// <summary>No script anywhere (the pages work without it); inline styles, images from here or https.</summary>
    private const string ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' https:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

    public static void Map(WebApplication app)
    {
        app.Use(async (context, next) =>
        {
            var headers = context.Response.Headers;
            headers.ContentSecurityPolicy = ContentSecurityPolicy;
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "no-referrer";
            // A declared length over the route's limit is refused before anything is read or checked.
            var push = HttpMethods.IsPut(context.Request.Method) && context.Request.Path.Equals(PushPath, StringComparison.OrdinalIgnoreCase);
            if (!push && context.Request.ContentLength > JsonBodyLimit)
            {
                context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
                await context.Response.WriteAsync($"this endpoint takes at most {JsonBodyLimit / 1024} KiB");
                return;
            }
            await next(context);
        });

        app.MapGet("/health", () => Results.Ok(new { status = "ok" }));

        // ---- NuGet v3 -------------------------------------------------------------------------
        app.MapGet("/v3/index.json", (HttpRequest r) => Results.Json(ServiceIndex(Base(r))));
        app.MapPut(PushPath, PackageTransfer.Push).DisableAntiforgery();
        app.MapDelete("/api/v2/package/{id}/{version}", (string id, string version, HttpRequest r, PackageService s, CancellationToken c) => SetListed(id, version, false, r, s, c));
        app.MapPost("/api/v2/package/{id}/{version}", (string id, string version, HttpRequest r, PackageService s, CancellationToken c) => SetListed(id, version, true, r, s, c));
        app.MapGet("/v3/package/{id}/index.json", async (string id, IPackageIndex store, CancellationToken c) =>
        {
            var versions = await store.GetVersionsAsync(id, includeUnlisted: true, c);
            return versions.Count == 0 ? Results.NotFound() : Results.Json(new { versions = versions.Select(v => v.Version.ToLowerInvariant()) });
        });
        app.MapMethods("/v3/package/{id}/{version}/{file}", [HttpMethods.Get, HttpMethods.Head], Content);
        app.MapGet("/v3/registration/{id}/index.json", Registration);
        app.MapGet("/v3/search", Search);
        app.MapGet("/v3/autocomplete", Autocomplete);

        // ---- the language API -------------------------------------------------------------------
        BrowseApi.Map(app); // languages, packages, trunks, tasks
        app.MapGet("/api/trunks/{id}/{version}/packages", FittingPackages);
        app.MapPost("/api/keys", CreateKey);
        app.MapGet("/api/keys", ListKeys);
        app.MapDelete("/api/keys/{keyId}", RevokeKey);
        app.MapGet("/api/packages/{id}/owners", ListOwners);
        app.MapPost("/api/packages/{id}/owners", AddOwner);
        app.MapDelete("/api/packages/{id}/owners/{owner}", RemoveOwner);

        EvaluationRoutes.Map(app);

        // ---- pages ----------------------------------------------------------------------------------
        BrowsePage.Map(app);
    }

    internal static string Base(HttpRequest r) => r.HttpContext.RequestServices.GetRequiredService<HubUrls>().Base(r.HttpContext.RequestServices);

    private static object ServiceIndex(string b)
    {
        var resources = new List<object>
        {
            new Dictionary<string, string> { ["@id"] = $"{b}/api/v2/package", ["@type"] = "PackagePublish/2.0.0" },
            new Dictionary<string, string> { ["@id"] = $"{b}/v3/package/", ["@type"] = "PackageBaseAddress/3.0.0" },
            new Dictionary<string, string> { ["@id"] = $"{b}/api", ["@type"] = "XModHubApi/1.0.0", ["comment"] = "keys, owners, languages" },
        };
        foreach (var suffix in new[] { "", "/3.0.0-beta", "/3.0.0-rc" })
        {
            resources.Add(new Dictionary<string, string> { ["@id"] = $"{b}/v3/search", ["@type"] = "SearchQueryService" + suffix });
            resources.Add(new Dictionary<string, string> { ["@id"] = $"{b}/v3/registration/", ["@type"] = "RegistrationsBaseUrl" + suffix });
            resources.Add(new Dictionary<string, string> { ["@id"] = $"{b}/v3/autocomplete", ["@type"] = "SearchAutocompleteService" + suffix });
        }
        return new Dictionary<string, object> { ["version"] = "3.0.0", ["resources"] = resources };
    }

    private static async Task<IResult> SetListed(string id, string version, bool listed, HttpRequest r, PackageService service, CancellationToken cancel)
    {
        return await service.SetListedAsync(id, version, listed, r.Headers["X-NuGet-ApiKey"].FirstOrDefault(), cancel) switch
        {
            ListingResult.Unauthorized => Results.Text("a valid API key is required (X-NuGet-ApiKey)", statusCode: StatusCodes.Status401Unauthorized),
            ListingResult.NotFound => Results.NotFound(),
            ListingResult.Forbidden => Results.Text($"the key may not {(listed ? "relist" : "unlist")} {id}", statusCode: StatusCodes.Status403Forbidden),
            _ => listed ? Results.Ok() : Results.NoContent(),
        };
    }

    private static async Task<IResult> Content(string id, string version, string file, HttpRequest r, PackageService service, IPackageIndex store, IBlobStorage blobs, CancellationToken cancel)
    {
        var lower = $"{id}.{version}".ToLowerInvariant();
        if (file.Equals(lower + ".nupkg", StringComparison.OrdinalIgnoreCase))
        {
            return await PackageTransfer.Download(id, version, r, service, blobs, r.HttpContext.RequestServices.GetRequiredService<DownloadOptions>(), cancel);
        }
        if (file.Equals(id.ToLowerInvariant() + ".nuspec", StringComparison.OrdinalIgnoreCase))
        {
            var package = await store.GetAsync(id, PackageService.Normalize(version), cancel);
            return package is null ? Results.NotFound() : Results.Text(
                $"""<?xml version="1.0" encoding="utf-8"?><package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd"><metadata><id>{System.Security.SecurityElement.Escape(package.Id)}</id><version>{package.Version}</version><authors>{System.Security.SecurityElement.Escape(package.Authors)}</authors><description>{System.Security.SecurityElement.Escape(package.Description)}</description></metadata></package>""",
                "application/xml");
        }
        return Results.NotFound();
    }

    private static async Task<IResult> Registration(string id, HttpRequest r, IPackageIndex store, CancellationToken cancel)
    {
        var versions = await store.GetVersionsAsync(id, includeUnlisted: true, cancel);
        if (versions.Count == 0)
        {
            return Results.NotFound();
        }
        var b = Base(r);
        var lowerId = versions[0].Id.ToLowerInvariant();
        var items = versions.Select(v => new Dictionary<string, object?>
        {
            ["@id"] = $"{b}/v3/registration/{lowerId}/{v.Version.ToLowerInvariant()}.json",
            ["catalogEntry"] = new Dictionary<string, object?>
            {
                ["@id"] = $"{b}/v3/registration/{lowerId}/{v.Version.ToLowerInvariant()}.json#catalog",
                ["id"] = v.Id,
                ["version"] = v.Version,
                ["description"] = v.Description,
                ["authors"] = v.Authors,
                ["tags"] = v.Tags.Split(' ', StringSplitOptions.RemoveEmptyEntries),
                ["listed"] = v.Listed,
                ["published"] = v.Listed ? v.Published : new DateTimeOffset(1900, 1, 1, 0, 0, 0, TimeSpan.Zero),
                ["packageContent"] = $"{b}/v3/package/{lowerId}/{v.Version.ToLowerInvariant()}/{lowerId}.{v.Version.ToLowerInvariant()}.nupkg",
            },
            ["packageContent"] = $"{b}/v3/package/{lowerId}/{v.Version.ToLowerInvariant()}/{lowerId}.{v.Version.ToLowerInvariant()}.nupkg",
        }).ToList();
        return Results.Json(new Dictionary<string, object>
        {
            ["count"] = 1,
            ["items"] = new[]
            {
                new Dictionary<string, object>
                {
                    ["@id"] = $"{b}/v3/registration/{lowerId}/index.json#page/{versions[0].Version}/{versions[^1].Version}",
                    ["count"] = items.Count,
                    ["lower"] = versions[0].Version.ToLowerInvariant(),
                    ["upper"] = versions[^1].Version.ToLowerInvariant(),
                    ["items"] = items,
                },
            },
        });
    }

    internal static SearchQuery Query(HttpRequest r, int defaultTake = 20)
    {
        var q = r.Query;
        PackageKind? kind = q["packageType"].FirstOrDefault() is { Length: > 0 } t ? XMod.Packaging.Nupkg.PackageIds.KindOfPackageType(t) ?? (PackageKind)(-1) : null;
        return new SearchQuery
        {
            Text = q["q"].FirstOrDefault(),
            Kind = kind,
            Trunk = q["trunk"].FirstOrDefault(),
            Script = q["script"].FirstOrDefault(),
            Family = q["family"].FirstOrDefault(),
            IncludePrerelease = !string.Equals(q["prerelease"].FirstOrDefault(), "false", StringComparison.OrdinalIgnoreCase),
            Skip = Math.Max(0, int.TryParse(q["skip"].FirstOrDefault(), out var skip) ? skip : 0),
            Take = Math.Clamp(int.TryParse(q["take"].FirstOrDefault(), out var take) ? take : defaultTake, 0, 1000),
        };
    }

    private static async Task<IResult> Search(HttpRequest r, PackageSearch search, IPackageIndex store, XModHub.Core.Evaluations.EvaluationService evaluations, CancellationToken cancel)
    {
        var b = Base(r);
        var query = Query(r);
        // A language named in any form (de, deu, de_DE, German, Deutsch) finds its packages by code.
        var (total, page) = await search.SearchAsync(BrowseData.ResolveLanguage(query.Text) is { } language ? query with { Text = language.Code } : query, cancel);
        var measured = await evaluations.MeasuredAsync(page, cancel);
        var data = new List<object>();
        foreach (var p in page)
        {
            var versions = await store.GetVersionsAsync(p.Id, includeUnlisted: false, cancel);
            var lowerId = p.Id.ToLowerInvariant();
            data.Add(new Dictionary<string, object?>
            {
                ["@id"] = $"{b}/v3/registration/{lowerId}/index.json",
                ["@type"] = "Package",
                ["registration"] = $"{b}/v3/registration/{lowerId}/index.json",
                ["id"] = p.Id,
                ["version"] = p.Version,
                ["description"] = p.Description,
                ["authors"] = new[] { p.Authors },
                ["tags"] = p.Tags.Split(' ', StringSplitOptions.RemoveEmptyEntries),
                ["totalDownloads"] = versions.Sum(v => v.Downloads),
                ["verified"] = false,
                ["packageTypes"] = new[] { new { name = XMod.Packaging.Nupkg.PackageIds.PackageTypeOf(p.Kind) } },
                ["versions"] = versions.Select(v => new Dictionary<string, object>
                {
                    ["@id"] = $"{b}/v3/registration/{lowerId}/{v.Version.ToLowerInvariant()}.json",
                    ["version"] = v.Version,
                    ["downloads"] = v.Downloads,
                }),
                // XModHub's own fields (NuGet clients ignore them): the hub's measurement and the publisher's claim, apart.
                ["xmodMeasured"] = BrowseApi.Measured(measured.GetValueOrDefault(XModHub.Core.Evaluations.EvaluationService.Key(p))),
                ["xmodReported"] = BrowseApi.Reported(p),
            });
        }
        return Results.Json(new Dictionary<string, object> { ["totalHits"] = total, ["data"] = data });
    }

    private static async Task<IResult> Autocomplete(HttpRequest r, PackageSearch search, IPackageIndex store, CancellationToken cancel)
    {
        if (r.Query["id"].FirstOrDefault() is { Length: > 0 } id)
        {
            var versions = await store.GetVersionsAsync(id, includeUnlisted: false, cancel);
            return Results.Json(new { totalHits = versions.Count, data = versions.Select(v => v.Version) });
        }
        var (total, page) = await search.SearchAsync(Query(r), cancel);
        return Results.Json(new { totalHits = total, data = page.Select(p => p.Id) });
    }

    // ---- language API ---------------------------------------------------------------------------

    internal static object Summary(PackageRecord p, long downloads) => new Dictionary<string, object?>
    {
        ["id"] = p.Id,
        ["short_id"] = ShortId(p),
        ["version"] = p.Version,
        ["kind"] = p.Kind.ToString(),
        ["trunk"] = p.TrunkId,
        ["trunk_sha256"] = p.TrunkSha256,
        ["code"] = p.LanguageCode,
        ["bcp47"] = p.Bcp47,
        ["iso639_3"] = p.Iso6393,
        ["english_name"] = p.EnglishName,
        ["autonym"] = p.Autonym,
        ["script"] = p.Script,
        ["family"] = p.Family,
        ["heldout_perplexity"] = p.Perplexity,
        ["downloads"] = downloads,
        ["published"] = p.Published,
        ["description"] = p.Description,
    };

    /// <summary>The id a user types: lang-de for xmod-mini.lang-de.</summary>
    internal static string ShortId(PackageRecord p) =>
        p.TrunkId is { } t && p.Kind != PackageKind.Trunk && p.Id.StartsWith(t + ".", StringComparison.OrdinalIgnoreCase) ? p.Id[(t.Length + 1)..] : p.Id;

    internal static string InstallCommand(PackageRecord p) =>
        "xmod-hub install " + (p.Kind == PackageKind.Trunk ? p.Id : $"{ShortId(p)} --trunk {p.TrunkId}");

    /// <summary>Language and task packages that fit trunk <paramref name="id"/> at <paramref name="version"/> (its weights' sha256 and their version range).</summary>
    private static async Task<IResult> FittingPackages(string id, string version, IPackageIndex store, PackageSearch search, CancellationToken cancel)
    {
        var trunk = await store.GetAsync(id, PackageService.Normalize(version), cancel);
        if (trunk is null || trunk.Kind != PackageKind.Trunk)
        {
            return Results.NotFound($"no trunk {id} {version}");
        }
        var (_, all) = await search.SearchAsync(new SearchQuery { Trunk = trunk.Id, Take = 10_000 }, cancel);
        var fitting = all.Where(p => p.Kind != PackageKind.Trunk && string.Equals(p.TrunkSha256, trunk.WeightsSha256, StringComparison.OrdinalIgnoreCase)
            && Fits(p, trunk.Version)).Select(p => Summary(p, p.Downloads)).ToList();
        return Results.Json(new { trunk = trunk.Id, version = trunk.Version, packages = fitting });
    }

    private static bool Fits(PackageRecord p, string trunkVersion)
    {
        var range = JsonSerializer.Deserialize<PackageManifest>(p.ManifestJson)?.Trunk?.VersionRange ?? "*";
        return range == "*" || (VersionRange.TryParse(range, out var r) && r.Satisfies(NuGetVersion.Parse(trunkVersion)));
    }

    /// <summary>
    /// The caller's key, checked before any body is read (an unauthenticated request costs a
    /// header lookup, never a parse).
    /// </summary>
    private static Task<ApiKeyRecord?> CallerAsync(HttpRequest r, ApiKeyService keys, CancellationToken cancel) =>
        keys.AuthenticateAsync(r.Headers["X-NuGet-ApiKey"].FirstOrDefault(), cancel);

    private static IResult NoKey(string what) => Results.Text($"a valid API key is required to {what} (X-NuGet-ApiKey)", statusCode: StatusCodes.Status401Unauthorized);

    /// <summary>A JSON object body of at most <see cref="JsonBodyLimit"/> bytes, or the 4xx saying why not.</summary>
    private static async Task<(JsonElement Body, IResult? Error)> JsonBodyAsync(HttpRequest r, CancellationToken cancel)
    {
        try
        {
            using var doc = await JsonDocument.ParseAsync(r.Body, cancellationToken: cancel);
            return doc.RootElement.ValueKind == JsonValueKind.Object ? (doc.RootElement.Clone(), null)
                : (default, Results.BadRequest($"the body must be a JSON object, not {doc.RootElement.ValueKind}"));
        }
        catch (JsonException e)
        {
            return (default, Results.BadRequest($"the body is not valid JSON: {e.Message}"));
        }
        catch (BadHttpRequestException e)
        {
            return (default, Results.Text($"the body is larger than the {JsonBodyLimit / 1024} KiB this endpoint takes", statusCode: e.StatusCode));
        }
    }

    private static string? Text(JsonElement body, string name) =>
        body.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(v.GetString()) ? v.GetString()!.Trim() : null;

    private static object KeyJson(ApiKeyRecord k) => new { id = ApiKeyService.IdOf(k), user = k.User, scopes = k.Scopes, name = k.Name, created = k.Created };

    private static async Task<IResult> CreateKey(HttpRequest r, ApiKeyService keys, CancellationToken cancel)
    {
        var caller = await CallerAsync(r, keys, cancel);
        if (caller is null)
        {
            return NoKey("create keys (an admin key)");
        }
        if (!caller.Scopes.Contains(ApiKeyService.Admin))
        {
            return Results.Text("only admin keys create keys", statusCode: StatusCodes.Status403Forbidden);
        }
        var (body, error) = await JsonBodyAsync(r, cancel);
        if (error is not null)
        {
            return error;
        }
        var known = new[] { ApiKeyService.Push, ApiKeyService.Unlist, ApiKeyService.Admin, XModHub.Core.Evaluations.EvaluationService.Scope };
        if (Text(body, "user") is not { } user || user.Length > 100)
        {
            return Results.BadRequest("a key needs a user: {\"user\": \"name\", \"scopes\": [...]}");
        }
        if (!body.TryGetProperty("scopes", out var scopesEl) || scopesEl.ValueKind != JsonValueKind.Array || scopesEl.GetArrayLength() == 0
            || scopesEl.EnumerateArray().Any(s => s.ValueKind != JsonValueKind.String || !known.Contains(s.GetString())))
        {
            return Results.BadRequest($"a key needs scopes: a non-empty list among {string.Join(", ", known)}");
        }
        var scopes = scopesEl.EnumerateArray().Select(s => s.GetString()!).Distinct().ToArray();
        if (scopes.Contains(XModHub.Core.Evaluations.EvaluationService.Scope) && scopes.Length > 1)
        {
            return Results.BadRequest("an evaluator key has the evaluate scope alone: it posts evaluations and does nothing else");
        }
        var name = Text(body, "name") ?? "";
        return Results.Json(new { key = await keys.CreateAsync(user, scopes, name.Length > 200 ? name[..200] : name, cancel), user, scopes });
    }

    private static async Task<IResult> ListKeys(HttpRequest r, ApiKeyService keys, CancellationToken cancel)
    {
        var caller = await CallerAsync(r, keys, cancel);
        return caller is null ? NoKey("list keys") : Results.Json(new { keys = (await keys.ListAsync(caller, cancel)).Select(KeyJson) });
    }

    private static async Task<IResult> RevokeKey(string keyId, HttpRequest r, ApiKeyService keys, CancellationToken cancel)
    {
        var caller = await CallerAsync(r, keys, cancel);
        if (caller is null)
        {
            return NoKey("revoke keys");
        }
        return await keys.RevokeAsync(caller, keyId, cancel) ? Results.NoContent()
            : Results.NotFound($"no key {keyId} that this key may revoke (admins revoke any key, others their own)");
    }

    private static async Task<IResult> ListOwners(string id, PackageService service, CancellationToken cancel) =>
        await service.OwnersAsync(id, cancel) is { } owners ? Results.Json(new { id, owners }) : Results.NotFound($"no package {id}");

    private static async Task<IResult> AddOwner(string id, HttpRequest r, ApiKeyService keys, PackageService service, CancellationToken cancel)
    {
        var caller = await CallerAsync(r, keys, cancel);
        if (caller is null)
        {
            return NoKey("change owners");
        }
        var (body, error) = await JsonBodyAsync(r, cancel);
        if (error is not null)
        {
            return error;
        }
        if (Text(body, "owner") is not { } owner || owner.Length > 100)
        {
            return Results.BadRequest("the body needs an owner: {\"owner\": \"user name\"}");
        }
        return await OwnerChange(id, owner, true, caller, service, cancel);
    }

    private static async Task<IResult> RemoveOwner(string id, string owner, HttpRequest r, ApiKeyService keys, PackageService service, CancellationToken cancel)
    {
        var caller = await CallerAsync(r, keys, cancel);
        return caller is null ? NoKey("change owners") : await OwnerChange(id, owner, false, caller, service, cancel);
    }

    private static async Task<IResult> OwnerChange(string id, string owner, bool add, ApiKeyRecord caller, PackageService service, CancellationToken cancel) =>
        await service.ChangeOwnerAsync(id, owner, add, caller, cancel) switch
        {
            OwnerResult.Done => Results.Json(new { id, owners = await service.OwnersAsync(id, cancel) }),
            OwnerResult.NotFound => Results.NotFound(add ? $"no package {id}" : $"{owner} does not own {id}"),
            OwnerResult.Forbidden => Results.Text($"only owners of {id} with a push key (or admins) change its owners", statusCode: StatusCodes.Status403Forbidden),
            OwnerResult.LastOwner => Results.Text($"{owner} is the last owner of {id}; add another owner first", statusCode: StatusCodes.Status409Conflict),
            _ => NoKey("change owners"),
        };
}
