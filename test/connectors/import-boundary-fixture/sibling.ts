// A plugin's own module: relative imports inside the plugin folder are its own business.
export const helper = () => 'sibling';
