import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// Served by Gatehouse under /console; every asset is a file of its own (no inline script or
// style), so the page runs under script-src 'self' and style-src 'self'.
export default defineConfig({
  base: '/console/',
  plugins: [react()],
  build: { outDir: 'dist', assetsInlineLimit: 0, sourcemap: false },
});
