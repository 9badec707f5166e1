// Every command prints either human-readable lines or, with --json, one JSON document.
export interface Output {
  json: boolean;
  result(data: unknown, human: () => string): void;
}

export function createOutput(json: boolean, write: (text: string) => void = (t) => process.stdout.write(t)): Output {
  return {
    json,
    result(data, human) {
      write(json ? `${JSON.stringify(data, null, 2)}\n` : `${human()}\n`);
    },
  };
}
