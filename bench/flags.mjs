// A benchmark's command-line flags, `--name value`: one reader for every bench/*.mjs.
export function flags(args) {
  const raw = (name) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  return {
    /** The flag's text, or the fallback when it is not given. */
    text: (name, fallback) => raw(name) ?? fallback,
    /** The flag as a number, or the fallback when it is not given. */
    number: (name, fallback) => {
      const value = raw(name);
      return value === undefined ? fallback : Number(value);
    },
  };
}
