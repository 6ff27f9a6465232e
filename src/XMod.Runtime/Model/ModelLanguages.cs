using XMod.Packaging.Languages;

namespace XMod.Runtime.Model;

/// <summary>
/// A language as a user typed it (de, deu, de_DE, de-DE, lang-de) turned into the code a model
/// has, through the one <see cref="LanguageResolver"/>: every command and runtime call that takes
/// a language resolves it here before the forward, which wants the exact code.
/// </summary>
public static class ModelLanguages
{
    /// <summary>The model's code for <paramref name="typed"/>; unknown or ambiguous is one clear error naming what it has.</summary>
    public static string ResolveLanguage(this XModModel model, string typed, string owner = "the model") =>
        LanguageResolver.Resolve(typed, model.Languages, owner);

    /// <summary>The model's code for <paramref name="typed"/>, or null when it has no such language (ambiguous still throws).</summary>
    public static string? TryResolveLanguage(this XModModel model, string typed) =>
        LanguageResolver.TryResolve(typed, model.Languages);
}
