// Where the files that ship beside the code are (views/, locales/, console/dist/): the package
// root, whether this module runs as TypeScript from src/config/ or compiled from dist/src/config/.
import { fileURLToPath } from 'node:url';

const PACKAGE_ROOT = new URL(import.meta.url.endsWith('.js') ? '../../../' : '../../', import.meta.url);

/** An absolute path below the package root, e.g. packagePath('locales/'). */
export function packagePath(relative: string): string {
  return fileURLToPath(new URL(relative, PACKAGE_ROOT));
}
