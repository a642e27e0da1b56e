import { fileURLToPath } from 'node:url';

/** The project root, seen from compiled tests in dist/test/... */
export const projectRoot = fileURLToPath(new URL('../../../', import.meta.url));
